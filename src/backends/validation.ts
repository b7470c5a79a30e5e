/**
 * Every request is validated before any backend sees it, with the one
 * validation module all protocols share; a refused request changes nothing.
 */
import {
  validateCreateStream,
  validateListShards,
  validateListStreams,
  validatePutRecord,
  validatePutRecords,
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
  };
}
