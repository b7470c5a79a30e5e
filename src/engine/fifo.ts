/**
 * A first-in first-out list with random access. Removing from the front only
 * moves a head index; the dead prefix is dropped once it is both large and at
 * least half the backing array, so removal is amortized O(1) (unlike
 * `Array.prototype.shift`, which moves every element).
 */
export interface Fifo<T> {
  /** How many items are in the list. */
  readonly length: number;
  push(item: T): void;
  /** The item at `index` from the front (0 = oldest), or undefined. */
  at(index: number): T | undefined;
  /** Removes and returns the oldest item, or undefined when empty. */
  shift(): T | undefined;
  /** Removes everything. */
  clear(): void;
}

/** Below this many dead slots, compacting is not worth a copy. */
const MIN_COMPACT = 1024;

export function createFifo<T>(): Fifo<T> {
  let items: (T | undefined)[] = [];
  let head = 0;
  return {
    get length() {
      return items.length - head;
    },
    push(item) {
      items.push(item);
    },
    at(index) {
      return index >= 0 ? items[head + index] : undefined;
    },
    shift() {
      if (head >= items.length) return undefined;
      const item = items[head];
      // Drop the reference so the item can be collected before compaction.
      items[head] = undefined;
      head++;
      if (head === items.length) {
        items = [];
        head = 0;
      } else if (head >= MIN_COMPACT && head * 2 >= items.length) {
        items = items.slice(head);
        head = 0;
      }
      return item;
    },
    clear() {
      items = [];
      head = 0;
    },
  };
}
