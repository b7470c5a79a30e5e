/** The parts of a Kinesis stream ARN the engine needs. */
export interface StreamArnParts {
  readonly region: string;
  readonly accountId: string;
  readonly streamName: string;
}

export function streamArnFor(region: string, accountId: string, streamName: string): string {
  return `arn:aws:kinesis:${region}:${accountId}:stream/${streamName}`;
}

// The AWS pattern `arn:aws.*:kinesis:.*:\d{12}:stream/\S+` with groups, so that
// every ARN validation lets through parses: any partition (aws, aws-cn, …).
const STREAM_ARN = /^arn:aws.*:kinesis:(.*):(\d{12}):stream\/(\S+)$/;

/** The region, account and stream name of a stream ARN, or undefined if it is not one. */
export function parseStreamArn(arn: string): StreamArnParts | undefined {
  const match = STREAM_ARN.exec(arn);
  if (match === null) return undefined;
  return { region: match[1]!, accountId: match[2]!, streamName: match[3]! };
}
