/** What the large-record tests write: records of up to 10 MiB whose bytes differ from place to place. */

export const MiB = 1024 * 1024;
/** The largest record a raised stream takes: data and a one-character key, 10 MiB together. */
export const TEN_MIB_DATA = 10 * MiB - 1;

/** `size` bytes that differ every 4 KiB (and by `seed`), so a record read back is compared meaningfully. */
export function payload(size: number, seed = 0): Uint8Array {
  const bytes = Buffer.alloc(size, seed);
  for (let i = 0; i < size; i += 4096) bytes.writeUInt32BE(i + seed, i);
  return bytes;
}
