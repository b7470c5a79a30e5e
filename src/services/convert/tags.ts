/** StreamService's proto mappings for tags. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  ListTagsForResourceRequest,
  ListTagsForResourceResponseSchema,
} from "../../gen/kinesis/gateway/v1/stream_pb.ts";
import type { ProtoMapping } from "../unary.ts";

export const listTagsForResourceMapping: ProtoMapping<
  "ListTagsForResource",
  ListTagsForResourceRequest,
  MessageInitShape<typeof ListTagsForResourceResponseSchema>
> = {
  // Unset is null, as from a wire client that sent none: validation names it.
  fromProto: (req) => ({ resourceArn: req.resourceArn === "" ? null : req.resourceArn }),
  toProto: (out) => ({ tags: out.tags }),
};
