/**
 * The bytes of a stream's stored records, copied out of the requests that
 * carried them into buffers of the store's own ("slabs"), filled in arrival
 * order. A new arena's first slab is small and each next one twice the size,
 * up to the largest, so a stream with a few records holds a few KiB.
 *
 * Keeping a view of the request instead would keep the whole request alive —
 * a decoded gRPC message, a CBOR body, the records that were throttled and
 * never stored — for as long as its longest-lived record: one stored 10-byte
 * record can hold 5 MiB. A copy costs a `memcpy`, and the store then knows
 * exactly what it holds: {@link DataArena.heldBytes} counts every slab a kept
 * record still uses, and the one being filled, whole.
 */

/** Records larger than this fraction of a slab get a buffer of their own, so no slab wastes more. */
const OWN_BUFFER_FRACTION = 4;

export const DEFAULT_SLAB_BYTES = 256 * 1024;
const FIRST_SLAB_BYTES = 4 * 1024;

interface Slab {
  readonly buffer: ArrayBuffer;
  /** Bytes handed out. */
  used: number;
  /** Records whose bytes are still kept. */
  live: number;
}

export interface DataArena {
  /** A copy of `data` in a slab; the copy is counted until {@link release} is called for it. */
  copy(data: Uint8Array): Uint8Array;
  /** Lets go of one copy made by {@link copy} (its buffer is the copy's `.buffer`). */
  release(buffer: ArrayBufferLike): void;
  /** Bytes of memory the kept copies hold, as described above. */
  readonly heldBytes: number;
  clear(): void;
}

export function createDataArena(slabBytes = DEFAULT_SLAB_BYTES): DataArena {
  const slabs = new Map<ArrayBufferLike, Slab>();
  let current: Slab | undefined;
  let nextSlabBytes = Math.min(FIRST_SLAB_BYTES, slabBytes);
  let heldBytes = 0;

  function newSlab(bytes: number): Slab {
    // Not zeroed: only the copies' own bytes are ever visible through it.
    const slab: Slab = { buffer: Buffer.allocUnsafeSlow(bytes).buffer, used: 0, live: 0 };
    slabs.set(slab.buffer, slab);
    heldBytes += bytes;
    return slab;
  }

  function drop(slab: Slab): void {
    slabs.delete(slab.buffer);
    heldBytes -= slab.buffer.byteLength;
  }

  return {
    copy(data) {
      const length = data.byteLength;
      let slab: Slab;
      if (length > slabBytes / OWN_BUFFER_FRACTION) {
        slab = newSlab(length);
      } else {
        if (current === undefined || current.used + length > current.buffer.byteLength) {
          if (current !== undefined && current.live === 0) drop(current);
          current = newSlab(Math.max(nextSlabBytes, length));
          nextSlabBytes = Math.min(nextSlabBytes * 2, slabBytes);
        }
        slab = current;
      }
      const copy = new Uint8Array(slab.buffer, slab.used, length);
      copy.set(data);
      slab.used += length;
      slab.live++;
      return copy;
    },
    release(buffer) {
      const slab = slabs.get(buffer);
      if (slab === undefined) return;
      slab.live--;
      if (slab.live === 0 && slab !== current) drop(slab);
    },
    get heldBytes() {
      return heldBytes;
    },
    clear() {
      slabs.clear();
      current = undefined;
      nextSlabBytes = Math.min(FIRST_SLAB_BYTES, slabBytes);
      heldBytes = 0;
    },
  };
}
