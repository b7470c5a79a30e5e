/**
 * Where one shard's records lie in its stream's log, oldest first: the only
 * per-record memory a durable stream keeps. An entry is one block while its
 * segment takes writes; once the segment is full and stored, its entries are
 * merged ({@link BlockIndex.merge}) into spans of the file that hold this
 * shard's blocks among others', so what the index holds follows the bytes
 * kept, not how many group commits wrote them. Columns in typed arrays, so
 * the collector has nothing to trace; entries are appended at the end and
 * dropped from the front (retention) or the end (a write that failed).
 */
const INITIAL_CAPACITY = 16;
const COLUMNS = 7;

export class BlockIndex {
  /** Where the entry's span starts in the log: its first block's position. */
  private positions: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** Bytes from `position` to the end of its last block (other shards' blocks may lie between). */
  private lengths: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private firstCounters: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private lastCounters: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private counts: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private firstArrivals: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private lastArrivals: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private head = 0;
  private tail = 0;
  /** Records in the entries. */
  recordCount = 0;

  get length(): number {
    return this.tail - this.head;
  }

  /** Bytes of memory the index holds. */
  get heldBytes(): number {
    return this.positions.length * COLUMNS * 8;
  }

  push(
    position: number,
    length: number,
    firstCounter: number,
    lastCounter: number,
    count: number,
    firstArrival: number,
    lastArrival: number,
  ): void {
    if (this.tail === this.positions.length) this.grow();
    const at = this.tail++;
    this.positions[at] = position;
    this.lengths[at] = length;
    this.firstCounters[at] = firstCounter;
    this.lastCounters[at] = lastCounter;
    this.counts[at] = count;
    this.firstArrivals[at] = firstArrival;
    this.lastArrivals[at] = lastArrival;
    this.recordCount += count;
  }

  position(i: number): number {
    return this.positions[this.head + i]!;
  }
  spanLength(i: number): number {
    return this.lengths[this.head + i]!;
  }
  lastCounter(i: number): number {
    return this.lastCounters[this.head + i]!;
  }
  lastArrival(i: number): number {
    return this.lastArrivals[this.head + i]!;
  }

  /** Drops the oldest entries that start before `position`; columns mostly empty are made smaller. */
  dropBefore(position: number): void {
    while (this.head < this.tail && this.positions[this.head]! < position) {
      this.recordCount -= this.counts[this.head]!;
      this.head++;
    }
    if (this.head === this.tail) this.head = this.tail = 0;
    this.shrinkIfSparse();
  }

  /** Drops the newest entries that start at or after `position`. */
  dropFrom(position: number): void {
    while (this.tail > this.head && this.positions[this.tail - 1]! >= position) {
      this.tail--;
      this.recordCount -= this.counts[this.tail]!;
    }
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  /**
   * Merges the entries that lie within `[start, end)` of the log — stored
   * bytes of one segment, which no failed write can cut — into as few entries as keep each
   * span within `maxSpan` bytes (or one block, if larger): a read loads a
   * whole span, so that bounds what it holds.
   */
  merge(start: number, end: number, maxSpan: number): void {
    const from = this.head + this.search((i) => this.position(i) >= start);
    let to = from;
    while (to < this.tail && this.positions[to]! + this.lengths[to]! <= end) to++;
    if (to - from < 2) return;
    let out = from;
    for (let i = from + 1; i < to; i++) {
      const spanEnd = this.positions[i]! + this.lengths[i]!;
      if (spanEnd - this.positions[out]! <= maxSpan) {
        this.lengths[out] = spanEnd - this.positions[out]!;
        this.lastCounters[out] = this.lastCounters[i]!;
        this.counts[out] = this.counts[out]! + this.counts[i]!;
        this.lastArrivals[out] = this.lastArrivals[i]!;
      } else {
        out++;
        for (const column of this.columns()) column[out] = column[i]!;
      }
    }
    out++;
    for (const column of this.columns()) column.copyWithin(out, to, this.tail);
    this.tail -= to - out;
    this.shrinkIfSparse();
  }

  /** The first entry for which `isAtOrAfter` holds, which is monotonic over the entries; `length` if none. */
  search(isAtOrAfter: (i: number) => boolean): number {
    let low = 0;
    let high = this.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (isAtOrAfter(middle)) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  private columns(): Float64Array[] {
    return [
      this.positions,
      this.lengths,
      this.firstCounters,
      this.lastCounters,
      this.counts,
      this.firstArrivals,
      this.lastArrivals,
    ];
  }

  /** Halves the columns while they are at most a quarter full. */
  private shrinkIfSparse(): void {
    let capacity = this.positions.length;
    while (capacity > INITIAL_CAPACITY && this.length * 4 <= capacity) capacity /= 2;
    if (capacity !== this.positions.length) this.resize(capacity);
  }

  /** Moves the live entries to the front, into columns twice as large when more than half full. */
  private grow(): void {
    const capacity = this.positions.length;
    this.resize(this.length * 2 > capacity ? capacity * 2 : capacity);
  }

  /** Columns of `capacity` entries, the live ones at the front. */
  private resize(capacity: number): void {
    const live = this.length;
    const [positions, lengths, firstCounters, lastCounters, counts, firstArrivals, lastArrivals] =
      this.columns().map((column) => {
        const next = new Float64Array(capacity);
        next.set(column.subarray(this.head, this.tail));
        return next;
      }) as [
        Float64Array,
        Float64Array,
        Float64Array,
        Float64Array,
        Float64Array,
        Float64Array,
        Float64Array,
      ];
    this.positions = positions;
    this.lengths = lengths;
    this.firstCounters = firstCounters;
    this.lastCounters = lastCounters;
    this.counts = counts;
    this.firstArrivals = firstArrivals;
    this.lastArrivals = lastArrivals;
    this.head = 0;
    this.tail = live;
  }
}
