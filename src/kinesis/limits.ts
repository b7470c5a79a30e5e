/** Kinesis's limits, as the AWS API model and documentation state them. */

export const MIN_RECORDS_PER_PUT = 1;
export const MAX_RECORDS_PER_PUT = 500;
export const MAX_PARTITION_KEY_LENGTH = 256;
/** Data plus partition key of one record. */
export const MAX_RECORD_BYTES = 1024 * 1024;
/** Data plus partition keys of all records of one `PutRecords`. */
export const MAX_PUT_RECORDS_BYTES = 5 * 1024 * 1024;
export const MAX_STREAM_NAME_LENGTH = 128;
export const MAX_STREAM_ARN_LENGTH = 2048;
export const MAX_HASH_KEY = 2n ** 128n - 1n;
export const MAX_LIST_LIMIT = 10_000;
export const MAX_TAGS_PER_STREAM = 50;
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;

// The patterns as AWS writes them in its messages; the regexes match the whole value.
export const STREAM_NAME_PATTERN = "[a-zA-Z0-9_.-]+";
export const STREAM_ARN_PATTERN = "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+";
export const HASH_KEY_PATTERN = "0|([1-9]\\d{0,38})";
export const SEQUENCE_NUMBER_PATTERN = "0|([1-9]\\d{0,128})";
