/**
 * StreamService's proto mappings for tags: a stream's by its name or ARN
 * (AddTagsToStream, RemoveTagsFromStream, ListTagsForStream), and a stream's
 * or a consumer's by ARN (TagResource, UntagResource, ListTagsForResource).
 * Tags and keys pass as sent, none as none: validation then answers with
 * AWS's text for an empty list.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  ListTagsForResourceRequest,
  ListTagsForResourceResponseSchema,
  ListTagsForStreamRequest,
  ListTagsForStreamResponseSchema,
} from "../../gen/kinesis/gateway/v1/stream_pb.ts";
import type { ProtoMapping } from "../unary.ts";
import {
  noAnswer,
  optional,
  optionalCount,
  required,
  type StreamRefMessage,
  streamRefFromProto,
} from "./common.ts";

type Tags = { [key: string]: string };

export const addTagsToStreamMapping: ProtoMapping<
  "AddTagsToStream",
  StreamRefMessage & { tags: Tags },
  object
> = {
  fromProto: (req) => ({ ...streamRefFromProto(req), tags: req.tags }),
  toProto: noAnswer,
};

export const removeTagsFromStreamMapping: ProtoMapping<
  "RemoveTagsFromStream",
  StreamRefMessage & { tagKeys: string[] },
  object
> = {
  fromProto: (req) => ({ ...streamRefFromProto(req), tagKeys: req.tagKeys }),
  toProto: noAnswer,
};

export const listTagsForStreamMapping: ProtoMapping<
  "ListTagsForStream",
  ListTagsForStreamRequest,
  MessageInitShape<typeof ListTagsForStreamResponseSchema>
> = {
  fromProto: (req) => ({
    ...streamRefFromProto(req),
    exclusiveStartTagKey: optional(req.exclusiveStartTagKey),
    limit: optionalCount(req.limit),
  }),
  toProto: (out) => ({ tags: out.tags, hasMoreTags: out.hasMoreTags }),
};

export const listTagsForResourceMapping: ProtoMapping<
  "ListTagsForResource",
  ListTagsForResourceRequest,
  MessageInitShape<typeof ListTagsForResourceResponseSchema>
> = {
  fromProto: (req) => ({ resourceArn: required(req.resourceArn) }),
  toProto: (out) => ({ tags: out.tags }),
};

export const tagResourceMapping: ProtoMapping<
  "TagResource",
  { resourceArn: string; tags: Tags },
  object
> = {
  fromProto: (req) => ({ resourceArn: required(req.resourceArn), tags: req.tags }),
  toProto: noAnswer,
};

export const untagResourceMapping: ProtoMapping<
  "UntagResource",
  { resourceArn: string; tagKeys: string[] },
  object
> = {
  fromProto: (req) => ({ resourceArn: required(req.resourceArn), tagKeys: req.tagKeys }),
  toProto: noAnswer,
};
