/** StreamService's proto mappings for the resource policy of a stream or a consumer. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GetResourcePolicyResponseSchema } from "../../gen/kinesis/gateway/v1/stream_pb.ts";
import type { ProtoMapping } from "../unary.ts";
import { noAnswer, required } from "./common.ts";

/** Get and Delete take the resource alone. */
const byResource = (req: { resourceArn: string }) => ({ resourceArn: required(req.resourceArn) });

export const putResourcePolicyMapping: ProtoMapping<
  "PutResourcePolicy",
  { resourceArn: string; policy: string },
  object
> = {
  fromProto: (req) => ({ ...byResource(req), policy: required(req.policy) }),
  toProto: noAnswer,
};

export const getResourcePolicyMapping: ProtoMapping<
  "GetResourcePolicy",
  { resourceArn: string },
  MessageInitShape<typeof GetResourcePolicyResponseSchema>
> = { fromProto: byResource, toProto: (out) => ({ policy: out.policy }) };

export const deleteResourcePolicyMapping: ProtoMapping<
  "DeleteResourcePolicy",
  { resourceArn: string },
  object
> = { fromProto: byResource, toProto: noAnswer };
