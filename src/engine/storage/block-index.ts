/**
 * Where one shard's blocks lie in its stream's log, oldest first: the only
 * per-record memory a durable stream keeps is its share of a block's entry
 * (48 bytes a block, however many records it holds). Columns in typed arrays,
 * so the collector has nothing to trace; blocks are appended at the end and
 * dropped from the front (retention) or the end (a write that failed).
 */
const INITIAL_CAPACITY = 16;

export class BlockIndex {
  private positions: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private lengths: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private firstCounters: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private counts: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private firstArrivals: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private lastArrivals: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private head = 0;
  private tail = 0;
  /** Records in the blocks indexed. */
  recordCount = 0;

  get length(): number {
    return this.tail - this.head;
  }

  /** Bytes of memory the index holds. */
  get heldBytes(): number {
    return this.positions.length * 6 * 8;
  }

  push(
    position: number,
    length: number,
    firstCounter: number,
    count: number,
    firstArrival: number,
    lastArrival: number,
  ): void {
    if (this.tail === this.positions.length) this.grow();
    const at = this.tail++;
    this.positions[at] = position;
    this.lengths[at] = length;
    this.firstCounters[at] = firstCounter;
    this.counts[at] = count;
    this.firstArrivals[at] = firstArrival;
    this.lastArrivals[at] = lastArrival;
    this.recordCount += count;
  }

  position(i: number): number {
    return this.positions[this.head + i]!;
  }
  blockLength(i: number): number {
    return this.lengths[this.head + i]!;
  }
  firstCounter(i: number): number {
    return this.firstCounters[this.head + i]!;
  }
  count(i: number): number {
    return this.counts[this.head + i]!;
  }
  lastCounter(i: number): number {
    return this.firstCounter(i) + this.count(i) - 1;
  }
  firstArrival(i: number): number {
    return this.firstArrivals[this.head + i]!;
  }
  lastArrival(i: number): number {
    return this.lastArrivals[this.head + i]!;
  }

  /** Drops the oldest blocks that start before `position`; columns mostly empty are made smaller. */
  dropBefore(position: number): void {
    while (this.head < this.tail && this.positions[this.head]! < position) {
      this.recordCount -= this.counts[this.head]!;
      this.head++;
    }
    if (this.head === this.tail) this.head = this.tail = 0;
    const capacity = this.positions.length;
    if (capacity > INITIAL_CAPACITY && this.length * 4 <= capacity) {
      this.resize(Math.max(INITIAL_CAPACITY, capacity / 2));
    }
  }

  /** Drops the newest blocks that start at or after `position`. */
  dropFrom(position: number): void {
    while (this.tail > this.head && this.positions[this.tail - 1]! >= position) {
      this.tail--;
      this.recordCount -= this.counts[this.tail]!;
    }
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  /** Drops the block at `i` (found corrupt when read); the ones after it move up. */
  remove(i: number): void {
    const at = this.head + i;
    this.recordCount -= this.counts[at]!;
    for (const column of this.columns()) column.copyWithin(at, at + 1, this.tail);
    this.tail--;
  }

  /** The first block for which `isAtOrAfter` holds, which is monotonic over the blocks; `length` if none. */
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
      this.counts,
      this.firstArrivals,
      this.lastArrivals,
    ];
  }

  /** Moves the live entries to the front, into columns twice as large when more than half full. */
  private grow(): void {
    const capacity = this.positions.length;
    this.resize(this.length * 2 > capacity ? capacity * 2 : capacity);
  }

  /** Columns of `capacity` entries, the live ones at the front. */
  private resize(capacity: number): void {
    const live = this.length;
    const [positions, lengths, firstCounters, counts, firstArrivals, lastArrivals] =
      this.columns().map((column) => {
        const next = new Float64Array(capacity);
        next.set(column.subarray(this.head, this.tail));
        return next;
      }) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    this.positions = positions;
    this.lengths = lengths;
    this.firstCounters = firstCounters;
    this.counts = counts;
    this.firstArrivals = firstArrivals;
    this.lastArrivals = lastArrivals;
    this.head = 0;
    this.tail = live;
  }
}
