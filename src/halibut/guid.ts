import { randomBytes } from 'node:crypto';

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A .NET Guid. `bytes` are in `Guid.ToByteArray()` order: the first three groups are
 * little-endian, the last two as written. On the wire it is BSON binary subtype 4.
 * Received GUIDs are kept as the 16 bytes they came as and echoed unchanged.
 */
export class Guid {
  readonly bytes: Buffer;

  constructor(bytes: Uint8Array) {
    if (bytes.length !== 16) throw new RangeError(`a GUID is 16 bytes, got ${bytes.length}`);
    this.bytes = Buffer.from(bytes);
  }

  static random(): Guid {
    const b = randomBytes(16);
    b[7] = (b[7]! & 0x0f) | 0x40; // version 4 (byte 7 holds the high byte of group 3 in .NET order)
    b[8] = (b[8]! & 0x3f) | 0x80; // variant
    return new Guid(b);
  }

  static parse(text: string): Guid {
    if (!GUID_RE.test(text)) throw new RangeError(`not a GUID: ${JSON.stringify(text)}`);
    const hex = text.replace(/-/g, '');
    const be = Buffer.from(hex, 'hex');
    const b = Buffer.alloc(16);
    b[0] = be[3]!; b[1] = be[2]!; b[2] = be[1]!; b[3] = be[0]!;
    b[4] = be[5]!; b[5] = be[4]!;
    b[6] = be[7]!; b[7] = be[6]!;
    be.copy(b, 8, 8, 16);
    return new Guid(b);
  }

  /** Canonical text form, e.g. `2f1a6c1e-...`, as .NET's `Guid.ToString()` prints it. */
  toString(): string {
    const b = this.bytes;
    const h = (i: number) => b[i]!.toString(16).padStart(2, '0');
    return (
      h(3) + h(2) + h(1) + h(0) + '-' + h(5) + h(4) + '-' + h(7) + h(6) + '-' +
      h(8) + h(9) + '-' + h(10) + h(11) + h(12) + h(13) + h(14) + h(15)
    );
  }

  equals(other: Guid): boolean {
    return this.bytes.equals(other.bytes);
  }

  toJSON(): string {
    return this.toString();
  }
}
