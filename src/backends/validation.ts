/**
 * Every request is validated before any backend sees it, with the one
 * validation module all protocols share; a refused request changes nothing.
 */
import {
  validateAddTags,
  validateCreateStream,
  validateDescribeStream,
  validateGetRecords,
  validateGetShardIterator,
  validateListShards,
  validateListStreams,
  validateListTags,
  validatePutRecord,
  validatePutRecords,
  validateRemoveTags,
  validateRetentionPeriod,
  validateStreamRef,
} from "../kinesis/validation.ts";
import type { Backend } from "./backend.ts";

export function withValidation(backend: Backend): Backend {
  return {
    async putRecords(input, call) {
      validatePutRecords(input);
      return backend.putRecords(input, call);
    },
    async putRecord(input, call) {
      validatePutRecord(input);
      return backend.putRecord(input, call);
    },
    async createStream(input, call) {
      validateCreateStream(input);
      return backend.createStream(input, call);
    },
    async deleteStream(input, call) {
      validateStreamRef(input);
      return backend.deleteStream(input, call);
    },
    async listStreams(input, call) {
      validateListStreams(input);
      return backend.listStreams(input, call);
    },
    async describeStreamSummary(input, call) {
      validateStreamRef(input);
      return backend.describeStreamSummary(input, call);
    },
    async listShards(input, call) {
      validateListShards(input);
      return backend.listShards(input, call);
    },
    async describeStream(input, call) {
      validateDescribeStream(input);
      return backend.describeStream(input, call);
    },
    async getShardIterator(input, call) {
      validateGetShardIterator(input);
      return backend.getShardIterator(input, call);
    },
    async getRecords(input, call) {
      validateGetRecords(input);
      return backend.getRecords(input, call);
    },
    async increaseStreamRetentionPeriod(input, call) {
      validateRetentionPeriod(input);
      return backend.increaseStreamRetentionPeriod(input, call);
    },
    async decreaseStreamRetentionPeriod(input, call) {
      validateRetentionPeriod(input);
      return backend.decreaseStreamRetentionPeriod(input, call);
    },
    async addTagsToStream(input, call) {
      validateAddTags(input);
      return backend.addTagsToStream(input, call);
    },
    async removeTagsFromStream(input, call) {
      validateRemoveTags(input);
      return backend.removeTagsFromStream(input, call);
    },
    async listTagsForStream(input, call) {
      validateListTags(input);
      return backend.listTagsForStream(input, call);
    },
    describeLimits: (call) => backend.describeLimits(call),
  };
}
