/**
 * One Prometheus text from every worker's: each series once, its values
 * combined. Counters, histograms (buckets, sums, counts) and up-down
 * counters (records in flight, records buffered) add up across workers; a
 * gauge that is a level rather than an amount (a subscription's lag) takes
 * the highest; `target_info` describes the process and is the same in each.
 */

/** Families whose series are levels: the workers' highest is the gateway's. */
const HIGHEST = new Set([
  "kinesis_gateway_subscription_millis_behind_latest",
  "kinesis_gateway_shard_write_utilization",
]);
/** Families that are the same in every worker. */
const SAME = new Set(["target_info"]);

interface Family {
  readonly comments: string[];
  /** By the series (name and labels): its combined value. */
  readonly series: Map<string, number>;
}

/** The family a sample belongs to: its name, less a histogram's or summary's suffix. */
function familyOf(sample: string, families: ReadonlyMap<string, Family>): string {
  const brace = sample.indexOf("{");
  const name = brace === -1 ? sample : sample.slice(0, brace);
  if (families.has(name)) return name;
  for (const suffix of ["_bucket", "_sum", "_count", "_total"]) {
    if (name.endsWith(suffix) && families.has(name.slice(0, -suffix.length))) {
      return name.slice(0, -suffix.length);
    }
  }
  return name;
}

function combine(family: string, before: number | undefined, value: number): number {
  if (before === undefined || SAME.has(family)) return before ?? value;
  return HIGHEST.has(family) ? Math.max(before, value) : before + value;
}

const formatted = (value: number) =>
  Number.isNaN(value)
    ? "NaN"
    : value === Infinity
      ? "+Inf"
      : value === -Infinity
        ? "-Inf"
        : String(value);

export function mergePrometheusTexts(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  const familyNamed = (name: string) => {
    let family = families.get(name);
    if (family === undefined) {
      family = { comments: [], series: new Map() };
      families.set(name, family);
    }
    return family;
  };
  for (const text of texts) {
    for (const line of text.split("\n")) {
      if (line === "") continue;
      if (line.startsWith("#")) {
        // "# HELP name …" and "# TYPE name type": kept once, from the first text.
        const name = line.split(" ", 3)[2] ?? "";
        const family = familyNamed(name);
        if (!family.comments.includes(line)) family.comments.push(line);
        continue;
      }
      // A sample: "name{labels} value"; label values may hold spaces, the value none.
      const at = line.lastIndexOf(" ");
      const key = line.slice(0, at);
      const value = Number(line.slice(at + 1));
      const name = familyOf(key, families);
      const family = familyNamed(name);
      family.series.set(key, combine(name, family.series.get(key), value));
    }
  }
  const lines: string[] = [];
  for (const family of families.values()) {
    lines.push(...family.comments);
    for (const [key, value] of family.series) lines.push(`${key} ${formatted(value)}`);
    lines.push("");
  }
  return lines.join("\n");
}
