/**
 * Stream name globs (`*` any characters, `?` one), matched without regular
 * expressions: a glob made a RegExp (`.*` per star) backtracks
 * catastrophically — `*******a` against a 128-character name took minutes,
 * `team-*-*-*-*-*-events` over a second — and a stream name is the client's
 * choice. This walks the name once, going back only to the last star, so a
 * match costs at most the product of the two lengths. (picomatch and
 * minimatch compile to RegExps too, for paths.)
 */

const STAR = 42; // *
const ANY = 63; // ?

/** Whether `name` matches `pattern`. */
function globMatches(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  /** The last star seen, and where in the name it was tried to end. */
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const c = p < pattern.length ? pattern.charCodeAt(p) : -1;
    if (c === STAR) {
      star = p++;
      resume = n;
    } else if (c === ANY || (c !== -1 && c === name.charCodeAt(n))) {
      p++;
      n++;
    } else if (star >= 0) {
      // The last star takes one more character; the rest is tried again after it.
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}

/** A matcher for one glob; a name without wildcards is compared whole. */
export function glob(pattern: string): (name: string) => boolean {
  if (!/[*?]/.test(pattern)) return (name) => name === pattern;
  // Consecutive stars match what one does.
  const collapsed = pattern.replace(/\*{2,}/g, "*");
  return (name) => globMatches(collapsed, name);
}

/** Whether a name matches any of the patterns (none: nothing matches). */
export function matchesAny(patterns: readonly string[]): (name: string) => boolean {
  const matchers = [...new Set(patterns)].map(glob);
  return (name) => matchers.some((matches) => matches(name));
}
