import { closeSync, openSync, readSync } from 'node:fs';

/** A file the user named was longer than a file of its kind can be. */
export class InputTooLargeError extends Error {
  readonly code = 'EFBIG';
  constructor(readonly file: string, readonly maxBytes: number) {
    super(`${file}: more than ${formatBytes(maxBytes)}`);
    this.name = 'InputTooLargeError';
  }
}

/**
 * Read a file the user named (a scenario, a certificate, a result.json), at most `maxBytes`.
 *
 * Why not `readFileSync`: a path can be a device or a pipe whose size says nothing (`/dev/zero`,
 * `/dev/urandom`, a process substitution that never ends), and `readFileSync` reads those until
 * memory runs out -- a hang, then a crash. Reading in chunks stops one chunk past the limit with
 * an `InputTooLargeError` the caller turns into its one-line message. Pipes stay allowed
 * (`--key <(vault read ...)` keeps a key off the disk); system errors (ENOENT, EISDIR, EACCES)
 * are thrown as they are, for the caller's message.
 */
export function readInputFile(file: string, maxBytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new InputTooLargeError(file, maxBytes);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / (1024 * 1024))} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} bytes`;
}
