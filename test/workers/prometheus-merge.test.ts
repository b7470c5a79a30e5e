import assert from "node:assert/strict";
import { test } from "node:test";
import { mergePrometheusTexts } from "../../src/workers/prometheus-merge.ts";

/** What one worker's exporter writes, with its own counts. */
const worker = (
  calls: number,
  inFlight: number,
  lagMs: number,
  bucket: number,
) => `# HELP target_info Target metadata
# TYPE target_info gauge
target_info{service_name="kinesis-gateway"} 1

# HELP rpc_server_call_duration Duration of RPCs
# UNIT rpc_server_call_duration s
# TYPE rpc_server_call_duration histogram
rpc_server_call_duration_count{rpc_method="PutRecords",error_type="a b"} ${calls}
rpc_server_call_duration_sum{rpc_method="PutRecords",error_type="a b"} ${calls / 4}
rpc_server_call_duration_bucket{rpc_method="PutRecords",error_type="a b",le="0.005"} ${bucket}
rpc_server_call_duration_bucket{rpc_method="PutRecords",error_type="a b",le="+Inf"} ${calls}

# HELP kinesis_gateway_records_in_flight Records being written
# TYPE kinesis_gateway_records_in_flight gauge
kinesis_gateway_records_in_flight{otel_scope_name="kinesis-gateway"} ${inFlight}

# HELP kinesis_gateway_subscription_millis_behind_latest How far behind
# TYPE kinesis_gateway_subscription_millis_behind_latest gauge
kinesis_gateway_subscription_millis_behind_latest{stream="s"} ${lagMs}
`;

test("workers' metrics merge into one text: amounts add up, levels take the highest, the process's info once", () => {
  const merged = mergePrometheusTexts([worker(10, 3, 500, 7), worker(6, 2, 1500, 1)]);
  assert.equal(
    merged,
    `# HELP target_info Target metadata
# TYPE target_info gauge
target_info{service_name="kinesis-gateway"} 1

# HELP rpc_server_call_duration Duration of RPCs
# UNIT rpc_server_call_duration s
# TYPE rpc_server_call_duration histogram
rpc_server_call_duration_count{rpc_method="PutRecords",error_type="a b"} 16
rpc_server_call_duration_sum{rpc_method="PutRecords",error_type="a b"} 4
rpc_server_call_duration_bucket{rpc_method="PutRecords",error_type="a b",le="0.005"} 8
rpc_server_call_duration_bucket{rpc_method="PutRecords",error_type="a b",le="+Inf"} 16

# HELP kinesis_gateway_records_in_flight Records being written
# TYPE kinesis_gateway_records_in_flight gauge
kinesis_gateway_records_in_flight{otel_scope_name="kinesis-gateway"} 5

# HELP kinesis_gateway_subscription_millis_behind_latest How far behind
# TYPE kinesis_gateway_subscription_millis_behind_latest gauge
kinesis_gateway_subscription_millis_behind_latest{stream="s"} 1500
`,
  );
});

test("a series one worker has and another lacks is kept as it is", () => {
  const merged = mergePrometheusTexts([
    '# TYPE c counter\nc_total{a="1"} 2\n',
    '# TYPE c counter\nc_total{a="2"} 5\nc_total{a="1"} 1\n',
  ]);
  assert.equal(merged, '# TYPE c counter\nc_total{a="1"} 3\nc_total{a="2"} 5\n');
  assert.equal(mergePrometheusTexts([]), "");
});
