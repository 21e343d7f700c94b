/** CRC-32 (IEEE 802.3, as gzip and PNG use) for state-file blocks. */

const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c >>> 0;
}

/** CRC-32 of `data[off, off+len)`. */
export function crc32(data: Uint8Array, off = 0, len = data.length - off): number {
  let c = 0xffffffff;
  for (let i = off; i < off + len; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
