// A C++ service's first steps with the client generated from proto/: linked
// with grpc++'s own reflection (whose descriptors land in the same generated
// pool: a file defined twice aborts at start) and default health service,
// it writes the seed example and decodes the error of an unknown stream,
// with grpc++'s default channel settings. Prints one JSON object with the
// fields test/interop/scenarios.ts reads.
//
//   interop-client GATEWAY_ADDRESS

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "google/rpc/status.pb.h"
#include "kinesis/gateway/v1/common.pb.h"
#include "kinesis/gateway/v1/producer.grpc.pb.h"

namespace v1 = kinesis::gateway::v1;

namespace {

std::string Json(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(5);
}

// What `message` takes in `grpc-message`: percent-encoded outside printable ASCII.
size_t GrpcMessageBytes(const std::string& message) {
  size_t bytes = 0;
  for (unsigned char c : message) bytes += (c >= 0x20 && c <= 0x7e && c != '%') ? 1 : 3;
  return bytes;
}

std::string CallEnd(const grpc::Status& status) {
  std::ostringstream out;
  const std::string& details = status.error_details();
  out << "{\"code\": " << status.error_code() << ", \"message\": " << Json(status.error_message())
      << ", \"metadataBytes\": "
      << GrpcMessageBytes(status.error_message()) + (details.size() + 2) / 3 * 4;
  google::rpc::Status proto;
  if (!details.empty() && proto.ParseFromString(details)) {
    out << ", \"statusProto\": {\"code\": " << proto.code()
        << ", \"message\": " << Json(proto.message()) << "}";
    for (const auto& any : proto.details()) {
      v1::KinesisErrorDetail detail;
      if (any.UnpackTo(&detail)) {
        out << ", \"detail\": {\"type\": " << Json(detail.type())
            << ", \"message\": " << Json(detail.message()) << "}";
      }
    }
  }
  out << "}";
  return out.str();
}

std::string Seed(v1::ProducerService::Stub& producer) {
  v1::PutRecordsRequest request;
  request.set_stream_name("orders");
  for (const auto& [data, key] : {std::pair{"blob1", "partitionkey1"}, {"blob2", "partitionkey2"}}) {
    auto* record = request.add_records();
    record->set_data(data);
    record->set_partition_key(key);
  }
  v1::PutRecordsResponse response;
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  grpc::Status status = producer.PutRecords(&context, request, &response);
  if (!status.ok()) return "{\"exception\": " + Json("PutRecords: " + status.error_message()) + "}";
  std::ostringstream out;
  out << "{\"failedRecordCount\": " << response.failed_record_count() << ", \"records\": [";
  for (int i = 0; i < response.records_size(); i++) {
    const auto& record = response.records(i);
    out << (i ? ", " : "") << "{\"shardId\": " << Json(record.shard_id())
        << ", \"sequenceNumber\": " << Json(record.sequence_number())
        << ", \"errorCode\": " << Json(record.error_code()) << "}";
  }
  out << "]}";
  return out.str();
}

std::string UnknownStream(v1::ProducerService::Stub& producer) {
  v1::PutRecordsRequest request;
  request.set_stream_name("nostream");
  auto* record = request.add_records();
  record->set_data("x");
  record->set_partition_key("k");
  v1::PutRecordsResponse response;
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  return CallEnd(producer.PutRecords(&context, request, &response));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " GATEWAY_ADDRESS\n";
    return 2;
  }
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::EnableDefaultHealthCheckService(true);
  auto channel = grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
  auto producer = v1::ProducerService::NewStub(channel);
  std::cout << "{\"client\": " << Json("grpc++ " + grpc::Version())
            << ", \"seed\": " << Seed(*producer)
            << ", \"errors\": {\"unknownStream\": " << UnknownStream(*producer) << "}}\n";
  return 0;
}
