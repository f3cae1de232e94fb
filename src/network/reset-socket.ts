import type { Socket } from 'node:net';

/**
 * Close a TCP socket with an RST instead of a FIN, so the peer sees ECONNRESET.
 * Takes the raw TCP socket (a TLSSocket's handle cannot be reset; keep its transport).
 * A socket that is already gone, or still connecting, is just destroyed.
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
