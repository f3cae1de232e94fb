/**
 * The NLB's flow hash: protocol, source IP/port, destination IP/port and a per-connection
 * counter standing in for the TCP sequence number. 32-bit FNV-1a, seeded so a scenario can
 * pick a different (but repeatable) spread. No allocation: strings are walked by char code.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function mixString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

function mixNumber(h: number, n: number): number {
  for (let i = 0; i < 4; i++) {
    h ^= (n >>> (i * 8)) & 0xff;
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

/** Hash of a flow's 5-tuple plus sequence stand-in; an unsigned 32-bit integer. */
export function flowHash(
  seed: number,
  sourceIp: string,
  sourcePort: number,
  destIp: string,
  destPort: number,
  sequence: number,
): number {
  let h = mixNumber(FNV_OFFSET, seed);
  h = mixNumber(h, 6); // TCP
  h = mixString(h, sourceIp);
  h = mixNumber(h, sourcePort);
  h = mixString(h, destIp);
  h = mixNumber(h, destPort);
  h = mixNumber(h, sequence);
  // final avalanche (murmur3 fmix32) so nearby counters spread over targets
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of the source IP alone (source-ip stickiness). */
export function sourceIpHash(seed: number, sourceIp: string): number {
  return mixString(mixNumber(FNV_OFFSET, seed), sourceIp) >>> 0;
}
