import type { Duplex } from 'node:stream';
import {
  CONTROL_END,
  CONTROL_NEXT,
  IDENTITY_SUBSCRIBER,
  PREAMBLE_MAGIC,
  PROCEED_LINE,
  handshakePageResponse,
} from './constants.js';
import { encodeMessage } from './codec.js';
import { writeMessageWithStreams, type OutgoingDataStream } from './data-stream.js';
import { HalibutError } from './halibut-error.js';
import { SERVER_IDENTITY_BYTES, parseIdentity, type Identity } from './identity.js';
import type { RequestMessage, ResponseMessage } from './messages.js';
import { ProtocolReader } from './reader.js';

/** Timeouts of the node (server) side; every one a named setting of the caller. */
export interface ServerSessionOptions {
  /** How long the node long-polls its queue before sending the null message (PollingQueueWaitTimeout). */
  pollingQueueWaitMs: number;
  /** Wait for the first byte of a response (TcpClientReceiveResponseTimeout). */
  receiveResponseTimeoutMs: number;
  /** All other reads: preamble, identity, rest of a response (TcpClientTimeout). */
  receiveTimeoutMs: number;
  /** NEXT / END after a message (TcpClientHeartbeatTimeout). */
  heartbeatTimeoutMs: number;
  maxMessageBytes: number;
  /**
   * Whether the node notices, while it waits for work, that the tentacle closed (a lenient
   * node; the default). false = as a real node: the socket is not read while waiting, so a
   * FIN or END stays unread and a close (an RST the OS delivers) is noticed only at the next
   * write -- work handed to such a zombie connection fails (Halibut
   * source/Halibut/Transport/Protocol/MessageExchangeProtocol.cs, ProcessReceiverInternalAsync:
   * the request is dequeued, then written, with no read in between).
   */
  noticeCloseWhileWaiting?: boolean;
}

export interface QueuedWork {
  request: RequestMessage;
  /** Sent after the message, chunk by chunk with backpressure (any size). */
  streams?: OutgoingDataStream[];
}

export interface ServerHooks {
  /** The preamble was `MX`: may this peer go on? false -> closed without a byte sent. */
  authorize(): boolean;
  /** Identified; false -> close silently (e.g. a per-subscription connection limit). */
  identified(identity: Identity): boolean;
  /** Wait up to `waitMs` for work for this subscription; null -> send the null message. Must honour `signal`. */
  nextWork(subscriptionId: string, waitMs: number, signal: AbortSignal): Promise<QueuedWork | null>;
  /** A message was written (a poll from the tentacle's point of view). */
  sent(kind: 'null' | 'request', work: QueuedWork | null): void;
  responded(work: QueuedWork, response: ResponseMessage, streams: Buffer[]): void;
  /** Work handed out to a connection that closed before it was written: put it back. */
  requeue(work: QueuedWork): void;
  /**
   * Close a connection refused by authorize() or identified(); default: destroy the duplex.
   * (A real node resets it: src/cluster/polling-listener.ts.)
   */
  closeRefused?(): void;
  /** The peer was not `MX` and got the handshake page. */
  answeredHttp?(preamble: string): void;
}

export type ServerSessionEnd = 'http-page' | 'rejected' | 'refused-identity' | 'ended-by-peer' | 'stopped';

function write(d: Duplex, b: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    d.write(b, (err) => (err ? reject(err) : resolve()));
  });
}

/** After the peer closed: did it send `END` first? Reads only what is already buffered. */
async function endAlreadyReceived(reader: ProtocolReader, timeoutMs: number): Promise<boolean> {
  try {
    return (await reader.readControlLine({ timeoutMs, skipEmpty: true })) === CONTROL_END;
  } catch {
    return false; // nothing complete was buffered: the connection is closed, so this does not wait
  }
}

/**
 * The node's side of one polling connection, over an already secured Duplex.
 * `stopping` asks for a graceful stop: waiting ends with the null message, and the next
 * `NEXT` is answered by closing the connection (FIN) instead of `PROCEED`. A polling node
 * never sends `END` ([H] section 4: only the connecting side does; a Tentacle that reads END
 * where it expects PROCEED raises a protocol error). `signal` aborts at once (no bytes).
 */
export async function runServerSession(
  duplex: Duplex,
  hooks: ServerHooks,
  o: ServerSessionOptions,
  stopping: AbortSignal,
): Promise<ServerSessionEnd> {
  const reader = new ProtocolReader(duplex, { maxMessageBytes: o.maxMessageBytes });
  // Aborted when the connection goes away, so a waiting queue read gives up its place.
  const gone = new AbortController();
  const onGone = () => gone.abort();
  duplex.once('close', onGone);
  try {
    const preamble = await reader.readPreamble({ timeoutMs: o.receiveTimeoutMs });
    if (!preamble.startsWith(PREAMBLE_MAGIC)) {
      hooks.answeredHttp?.(preamble);
      duplex.end(handshakePageResponse());
      return 'http-page';
    }
    if (!hooks.authorize()) {
      if (hooks.closeRefused) hooks.closeRefused();
      else duplex.destroy();
      return 'rejected';
    }
    const identity = parseIdentity(await reader.readLine({ timeoutMs: o.receiveTimeoutMs }));
    const blank = await reader.readLine({ timeoutMs: o.receiveTimeoutMs });
    if (blank !== '') throw new HalibutError('protocol.error', 'no blank line after the identity line');
    if (identity.kind !== IDENTITY_SUBSCRIBER) {
      throw new HalibutError('protocol.unexpected-identity', `this node only serves polling subscribers, got ${identity.kind}`);
    }
    if (!hooks.identified(identity)) {
      if (hooks.closeRefused) hooks.closeRefused();
      else duplex.destroy();
      return 'refused-identity';
    }
    await write(duplex, SERVER_IDENTITY_BYTES);
    const subscription = identity.subscriptionId!;

    const lenient = o.noticeCloseWhileWaiting !== false;
    for (;;) {
      // A real node does not read while it waits: pause the socket (unless the reader paused it itself).
      const pausedHere = !lenient && !reader.isPaused;
      if (pausedHere) duplex.pause();
      const waitSignal = lenient ? AbortSignal.any([gone.signal, stopping]) : stopping;
      const work = stopping.aborted ? null : await hooks.nextWork(subscription, o.pollingQueueWaitMs, waitSignal);
      if (pausedHere) duplex.resume();
      if (!lenient && gone.signal.aborted) {
        // The connection died while the node waited (a zombie): the write below is what notices it.
        throw new HalibutError('closed.by-peer', `the tentacle's connection was gone when the node wrote ${work ? 'a request' : 'the null message'} to it`);
      }
      if (lenient && gone.signal.aborted) {
        if (work) hooks.requeue(work); // the waiter died before the work left: give it back untouched
        // A tentacle that stops while the node waits sends END and closes: that is a normal end.
        if (await endAlreadyReceived(reader, o.heartbeatTimeoutMs)) return 'ended-by-peer';
        throw new HalibutError('closed.by-peer', 'the tentacle closed the connection while the node was waiting for work');
      }
      if (work) {
        await writeMessageWithStreams(duplex, encodeMessage({ kind: 'request', request: work.request }), work.streams);
        hooks.sent('request', work);
        const received = await reader.readMessage({
          firstByteTimeoutMs: o.receiveResponseTimeoutMs,
          timeoutMs: o.receiveTimeoutMs,
          timeoutKind: 'timeout.receive',
        });
        if (received.message.kind !== 'response') {
          throw new HalibutError('protocol.bad-message', `expected a ResponseMessage, got ${received.message.kind}`);
        }
        hooks.responded(work, received.message.response, received.streams);
      } else {
        await write(duplex, encodeMessage({ kind: 'null' }));
        hooks.sent('null', null);
      }
      let control: string;
      try {
        control = await reader.readControlLine({ timeoutMs: o.heartbeatTimeoutMs, timeoutKind: 'timeout.heartbeat', skipEmpty: true });
      } catch (e) {
        if ((e as HalibutError).kind === 'closed.by-peer') return 'ended-by-peer'; // EOF: closes
        throw e;
      }
      if (control === CONTROL_END) {
        duplex.end();
        return 'ended-by-peer';
      }
      if (control !== CONTROL_NEXT) {
        throw new HalibutError('protocol.unexpected-control', `expected NEXT or END, got "${control.slice(0, 40)}"`);
      }
      if (stopping.aborted) {
        duplex.end(); // close without END, as a real node does
        return 'stopped';
      }
      await write(duplex, PROCEED_LINE);
    }
  } finally {
    duplex.off('close', onGone);
    reader.dispose();
  }
}
