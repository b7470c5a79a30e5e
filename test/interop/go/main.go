// The interop scenarios, as a Go service would run them with grpc-go.
//
// Built by test/interop/go.test.ts in GOPATH mode next to the client
// generated from proto/ (kinesis-gateway/gen/go/kinesis/gateway/v1) and
// grpc-go's own health and reflection packages. Every connection keeps
// grpc-go's defaults. Prints one JSON object with the same fields as
// test/interop/python/client.py; test/interop/scenarios.ts says what each
// must be.
//
//	interop-client GATEWAY_ADDRESS UNTHROTTLED_GATEWAY_ADDRESS
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	gatewayv1 "kinesis-gateway/gen/go/kinesis/gateway/v1"

	"github.com/golang/protobuf/proto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
)

const (
	seedStream                = "orders"
	throttledStream           = "throttled"
	backlogStream             = "backlog"
	backlogRecords            = 12
	backlogRecordBytes        = 900 * 1024
	backlogRecordsPerCall     = 4
	errorDeadline             = 5 * time.Second
	readDeadline              = 10 * time.Second
	subscriptionDeadline      = 200 * time.Millisecond
	subscriptionDeadlineTries = 20
)

type result = map[string]any

var pattern = func() []byte {
	b := make([]byte, backlogRecordBytes+251)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}()

// backlogData is record `index` of the backlog: its index, then bytes that say where they belong.
func backlogData(index int) []byte {
	data := make([]byte, 4, backlogRecordBytes)
	binary.BigEndian.PutUint32(data, uint32(index))
	return append(data, pattern[index:index+backlogRecordBytes-4]...)
}

// grpcMessageBytes is what `message` takes in `grpc-message`: UTF-8, percent-encoded outside printable ASCII.
func grpcMessageBytes(message string) int {
	n := 0
	for _, b := range []byte(message) {
		if b >= 0x20 && b <= 0x7e && b != '%' {
			n++
		} else {
			n += 3
		}
	}
	return n
}

// errorResult is the status, message and decoded KinesisErrorDetail of a
// failed call. grpc-go hides the raw status headers and takes the message
// from grpc-status-details-bin when there is one.
func errorResult(err error, elapsed time.Duration) result {
	st := status.Convert(err)
	r := result{
		"code":          int(st.Code()),
		"message":       st.Message(),
		"detail":        nil,
		"statusProto":   nil,
		"metadataBytes": grpcMessageBytes(st.Message()),
		"elapsedMs":     elapsed.Milliseconds(),
	}
	if p := st.Proto(); len(p.GetDetails()) > 0 {
		r["statusProto"] = result{"code": p.GetCode(), "message": p.GetMessage()}
		if encoded, marshalErr := proto.Marshal(p); marshalErr == nil {
			r["metadataBytes"] = r["metadataBytes"].(int) + (len(encoded)+2)/3*4
		}
	}
	for _, d := range st.Details() {
		if detail, ok := d.(*gatewayv1.KinesisErrorDetail); ok {
			r["detail"] = result{"type": detail.GetType(), "message": detail.GetMessage()}
		}
	}
	return r
}

// outcome is call's error as errorResult, or {"code": 0} when it succeeded.
func outcome(call func() error) result {
	started := time.Now()
	if err := call(); err != nil {
		return errorResult(err, time.Since(started))
	}
	return result{"code": 0, "elapsedMs": time.Since(started).Milliseconds()}
}

// scenario runs a scenario; an error or a panic becomes its result, so the others still run.
func scenario(run func() (result, error)) (r result) {
	defer func() {
		if p := recover(); p != nil {
			r = result{"exception": fmt.Sprintf("panic: %v", p)}
		}
	}()
	r, err := run()
	if err != nil {
		return result{"exception": err.Error()}
	}
	return r
}

func deadline(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func packages(conn *grpc.ClientConn) (result, error) {
	ctx, cancel := deadline(errorDeadline)
	defer cancel()
	health, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		return nil, err
	}
	stream, err := grpc_reflection_v1alpha.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	request := &grpc_reflection_v1alpha.ServerReflectionRequest{
		MessageRequest: &grpc_reflection_v1alpha.ServerReflectionRequest_ListServices{},
	}
	if err := stream.Send(request); err != nil {
		return nil, err
	}
	answer, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	services := []string{}
	for _, s := range answer.GetListServicesResponse().GetService() {
		services = append(services, s.GetName())
	}
	return result{"health": health.GetStatus().String(), "reflectionServices": services}, nil
}

func seed(producer gatewayv1.ProducerServiceClient) (result, error) {
	ctx, cancel := deadline(errorDeadline)
	defer cancel()
	response, err := producer.PutRecords(ctx, &gatewayv1.PutRecordsRequest{
		StreamName: seedStream,
		Records: []*gatewayv1.PutRecordsRequestEntry{
			{Data: []byte("blob1"), PartitionKey: "partitionkey1"},
			{Data: []byte("blob2"), PartitionKey: "partitionkey2"},
		},
	})
	if err != nil {
		return nil, err
	}
	records := []result{}
	for _, r := range response.GetRecords() {
		records = append(records, result{
			"shardId": r.GetShardId(), "sequenceNumber": r.GetSequenceNumber(), "errorCode": r.GetErrorCode(),
		})
	}
	return result{"failedRecordCount": response.GetFailedRecordCount(), "records": records}, nil
}

func keyed(key string, count int) []*gatewayv1.PutRecordsRequestEntry {
	records := make([]*gatewayv1.PutRecordsRequestEntry, count)
	for i := range records {
		records[i] = &gatewayv1.PutRecordsRequestEntry{Data: []byte("x"), PartitionKey: key}
	}
	return records
}

func errorCases(producer gatewayv1.ProducerServiceClient) (result, error) {
	putRecords := func(stream string, records []*gatewayv1.PutRecordsRequestEntry) result {
		return outcome(func() error {
			ctx, cancel := deadline(errorDeadline)
			defer cancel()
			_, err := producer.PutRecords(ctx, &gatewayv1.PutRecordsRequest{StreamName: stream, Records: records})
			return err
		})
	}
	return result{
		"unknownStream":             putRecords("nostream", keyed("k", 1)),
		"tooManyRecords":            putRecords(seedStream, keyed("k", 501)),
		"longPartitionKeysAscii":    putRecords(seedStream, keyed(strings.Repeat("p", 257), 10)),
		"longPartitionKeysAccented": putRecords(seedStream, keyed(strings.Repeat("é", 257), 10)),
		"longPartitionKeysEmoji":    putRecords(seedStream, keyed(strings.Repeat("😀", 257), 10)),
		"emojiExplicitHashKey": outcome(func() error {
			ctx, cancel := deadline(errorDeadline)
			defer cancel()
			_, err := producer.PutRecord(ctx, &gatewayv1.PutRecordRequest{
				StreamName: seedStream, Data: []byte("x"), PartitionKey: "k",
				ExplicitHashKey: strings.Repeat("😀", 3000),
			})
			return err
		}),
	}, nil
}

func throttling(producer gatewayv1.ProducerServiceClient) (result, error) {
	entries := make([]*gatewayv1.PutRecordsRequestEntry, 500)
	for i := range entries {
		entries[i] = &gatewayv1.PutRecordsRequestEntry{Data: make([]byte, 3*1024), PartitionKey: fmt.Sprintf("k%d", i)}
	}
	ctx, cancel := deadline(errorDeadline)
	defer cancel()
	response, err := producer.PutRecords(ctx, &gatewayv1.PutRecordsRequest{StreamName: throttledStream, Records: entries})
	if err != nil {
		return nil, err
	}
	records := []result{}
	for _, r := range response.GetRecords() {
		records = append(records, result{
			"shardId": r.GetShardId(), "errorCode": r.GetErrorCode(), "errorMessage": r.GetErrorMessage(),
		})
	}
	putRecord := outcome(func() error {
		_, err := producer.PutRecord(ctx, &gatewayv1.PutRecordRequest{
			StreamName: throttledStream, Data: make([]byte, backlogRecordBytes), PartitionKey: "k",
		})
		return err
	})
	return result{"failedRecordCount": response.GetFailedRecordCount(), "records": records, "putRecord": putRecord}, nil
}

func received(record *gatewayv1.Record, arrivals []result) []result {
	data := record.GetData()
	index := -1
	if len(data) >= 4 {
		index = int(binary.BigEndian.Uint32(data))
	}
	intact := index >= 0 && index < backlogRecords && bytes.Equal(data, backlogData(index))
	return append(arrivals, result{"index": index, "sequenceNumber": record.GetSequenceNumber(), "intact": intact})
}

func backlog(conn *grpc.ClientConn) (result, error) {
	producer := gatewayv1.NewProducerServiceClient(conn)
	consumer := gatewayv1.NewConsumerServiceClient(conn)
	for first := 0; first < backlogRecords; first += backlogRecordsPerCall {
		entries := []*gatewayv1.PutRecordsRequestEntry{}
		for i := first; i < first+backlogRecordsPerCall; i++ {
			entries = append(entries, &gatewayv1.PutRecordsRequestEntry{Data: backlogData(i), PartitionKey: "backlog"})
		}
		ctx, cancel := deadline(readDeadline)
		response, err := producer.PutRecords(ctx, &gatewayv1.PutRecordsRequest{StreamName: backlogStream, Records: entries})
		cancel()
		if err != nil {
			return nil, err
		}
		if response.GetFailedRecordCount() > 0 {
			return nil, fmt.Errorf("%d backlog records failed", response.GetFailedRecordCount())
		}
	}
	return result{
		"getRecords":       scenario(func() (result, error) { return readWithGetRecords(consumer) }),
		"subscribeToShard": scenario(func() (result, error) { return readWithSubscription(consumer) }),
	}, nil
}

func readWithGetRecords(consumer gatewayv1.ConsumerServiceClient) (result, error) {
	ctx, cancel := deadline(readDeadline)
	defer cancel()
	iterator, err := consumer.GetShardIterator(ctx, &gatewayv1.GetShardIteratorRequest{
		StreamName: backlogStream, ShardId: "shardId-000000000000",
		ShardIteratorType: gatewayv1.ShardIteratorType_SHARD_ITERATOR_TYPE_TRIM_HORIZON,
	})
	if err != nil {
		return nil, err
	}
	next := iterator.GetShardIterator()
	arrivals, recordsPerCall := []result{}, []int{}
	var failure result
	// Past the backlog, two calls in a row with nothing new: caught up.
	for len(recordsPerCall) < 2*backlogRecords+4 {
		started := time.Now()
		response, err := consumer.GetRecords(ctx, &gatewayv1.GetRecordsRequest{ShardIterator: next})
		if err != nil {
			failure = errorResult(err, time.Since(started))
			break
		}
		recordsPerCall = append(recordsPerCall, len(response.GetRecords()))
		for _, record := range response.GetRecords() {
			arrivals = received(record, arrivals)
		}
		next = response.GetNextShardIterator()
		n := len(recordsPerCall)
		if next == "" || (n >= 2 && recordsPerCall[n-1] == 0 && recordsPerCall[n-2] == 0 && len(arrivals) >= backlogRecords) {
			break
		}
	}
	return result{"records": arrivals, "recordsPerCall": recordsPerCall, "error": failure}, nil
}

func readWithSubscription(consumer gatewayv1.ConsumerServiceClient) (result, error) {
	ctx, cancel := deadline(readDeadline)
	defer cancel()
	started := time.Now()
	stream, err := consumer.SubscribeToShard(ctx, &gatewayv1.SubscribeToShardRequest{
		StreamName: backlogStream, ShardId: "shardId-000000000000",
		StartingPosition: &gatewayv1.StartingPosition{Type: gatewayv1.ShardIteratorType_SHARD_ITERATOR_TYPE_TRIM_HORIZON},
	})
	arrivals, recordsPerEvent := []result{}, []int{}
	var failure result
	for err == nil && len(arrivals) < backlogRecords {
		var event *gatewayv1.SubscribeToShardResponse
		if event, err = stream.Recv(); err == nil {
			recordsPerEvent = append(recordsPerEvent, len(event.GetRecords()))
			for _, record := range event.GetRecords() {
				arrivals = received(record, arrivals)
			}
		}
	}
	if errors.Is(err, io.EOF) {
		failure = result{"code": 0, "message": "the stream ended", "detail": nil}
	} else if err != nil {
		failure = errorResult(err, time.Since(started))
	}
	return result{"records": arrivals, "recordsPerEvent": recordsPerEvent, "error": failure}, nil
}

func subscriptionDeadlineEnds(consumer gatewayv1.ConsumerServiceClient) (result, error) {
	ends := []result{}
	for i := 0; i < subscriptionDeadlineTries; i++ {
		ends = append(ends, outcome(func() error {
			ctx, cancel := deadline(subscriptionDeadline)
			defer cancel()
			stream, err := consumer.SubscribeToShard(ctx, &gatewayv1.SubscribeToShardRequest{
				StreamName: seedStream, ShardId: "shardId-000000000001",
				StartingPosition: &gatewayv1.StartingPosition{Type: gatewayv1.ShardIteratorType_SHARD_ITERATOR_TYPE_TRIM_HORIZON},
			})
			for err == nil {
				_, err = stream.Recv()
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}))
	}
	return result{"deadlineMs": subscriptionDeadline.Milliseconds(), "ends": ends}, nil
}

func main() {
	dial := func(address string) *grpc.ClientConn {
		conn, err := grpc.Dial(address, grpc.WithInsecure())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return conn
	}
	conn, unthrottled := dial(os.Args[1]), dial(os.Args[2])
	defer conn.Close()
	defer unthrottled.Close()
	producer := gatewayv1.NewProducerServiceClient(conn)
	consumer := gatewayv1.NewConsumerServiceClient(conn)
	results := result{
		"client":               fmt.Sprintf("grpc-go %s, %s", grpc.Version, runtime.Version()),
		"packages":             scenario(func() (result, error) { return packages(conn) }),
		"seed":                 scenario(func() (result, error) { return seed(producer) }),
		"errors":               scenario(func() (result, error) { return errorCases(producer) }),
		"throttling":           scenario(func() (result, error) { return throttling(producer) }),
		"backlog":              scenario(func() (result, error) { return backlog(unthrottled) }),
		"subscriptionDeadline": scenario(func() (result, error) { return subscriptionDeadlineEnds(consumer) }),
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
