import { isIP } from 'node:net';
import { PollfleetError } from '../core/errors.js';
import { isThumbprint } from '../pki/thumbprint.js';
import type { ProxyEndpoint } from './proxy-tunnel.js';

/**
 * One server entry a tentacle polls (a Tentacle.config TrustedOctopusServers item):
 * where to connect and which node certificate to accept.
 */
export interface ServerEntry {
  /** As configured, e.g. `https://10.0.0.5:10943` or `10.0.0.5:10943`. */
  address: string;
  host: string;
  port: number;
  /** Expected node thumbprint, compared exactly (case-sensitive) as Tentacle does. */
  thumbprint: string;
  name?: string;
  /** `websocket` for a `wss://` address (polling over WebSockets, reference section 7); TCP otherwise. */
  transport?: 'tcp' | 'websocket';
  /** Request path of a `wss://` address, e.g. `/OctopusComms`. */
  path?: string;
  /**
   * Where TCP connects when the fleet resolves `host` itself (route sni-passthrough: every
   * polling<N>.<domain> name is the SNI router's loopback address, no /etc/hosts needed).
   * `host` is still what TLS sends as the server name (SNI).
   */
  connectHost?: string;
  /** An HTTP CONNECT proxy every connection to this entry goes through (src/tentacle/proxy-tunnel.ts). */
  proxy?: ProxyEndpoint;
}

export interface ParsedAddress {
  address: string;
  /** Host name or IP; IPv6 without brackets. */
  host: string;
  port: number;
  transport?: 'tcp' | 'websocket';
  path?: string;
}

/** Default port and path of polling over WebSockets (server prefix https://+:443/OctopusComms/). */
const WSS_DEFAULT_PORT = 443;
const WSS_DEFAULT_PATH = '/OctopusComms';

const HOST_PORT_RE = /^(?:\[([0-9a-fA-F:.%\w-]+)\]|([^\s:/[\]]+)):(\d+)\/?$/;

function bad(text: string, why: string): PollfleetError {
  return new PollfleetError(
    'input.invalid',
    `server address ${JSON.stringify(text)}: ${why}`,
    { hint: 'expected host:port, https://host:port, [ipv6]:port or wss://host:443/OctopusComms, e.g. https://octopus1.example.com:10943' },
  );
}

function checkPort(text: string, port: string): number {
  const n = Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw bad(text, `port ${port} is not between 1 and 65535`);
  return n;
}

/** Polling over WebSockets: `wss://host[:port][/path]`, port 443 and path /OctopusComms when omitted. */
function parseWebSocketAddress(text: string, address: string): ParsedAddress {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw bad(text, 'not a valid URL');
  }
  if (url.search !== '' || url.hash !== '') throw bad(text, 'a wss:// polling address takes no query or fragment');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? WSS_DEFAULT_PORT : checkPort(text, url.port);
  const path = url.pathname === '/' || url.pathname === '' ? WSS_DEFAULT_PATH : url.pathname;
  return { address, host, port, transport: 'websocket', path };
}

/** Parse `host:port`, `https://host:port[/]`, `[ipv6]:port` or `wss://host:443/OctopusComms`. The port is required except for wss. */
export function parseServerAddress(text: string): ParsedAddress {
  const address = text.trim();
  if (address === '') throw bad(text, 'the address is empty');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(address)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme === 'wss') return parseWebSocketAddress(text, address);
    if (scheme !== 'https') {
      throw bad(text, `scheme ${scheme}:// is not used for polling (the connection is always TLS); use https://host:port or wss://host:443/OctopusComms`);
    }
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw bad(text, 'not a valid URL');
    }
    if (url.port === '') throw bad(text, 'no port (the polling port is usually 10943)');
    if (url.pathname !== '/' && url.pathname !== '') throw bad(text, `unexpected path ${url.pathname}`);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    return { address, host, port: checkPort(text, url.port) };
  }
  const m = HOST_PORT_RE.exec(address);
  if (!m) {
    if (!address.includes(':')) throw bad(text, 'no port (the polling port is usually 10943)');
    if (isIP(address) === 6) throw bad(text, 'an IPv6 address needs brackets and a port: [::1]:10943');
    throw bad(text, 'not host:port');
  }
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined && isIP(host) !== 6) throw bad(text, `${host} in brackets is not an IPv6 address`);
  return { address, host, port: checkPort(text, m[3]!) };
}

/** A server entry from an address and the node's thumbprint (40 hex chars; upper case is what matches). */
export function serverEntry(address: string, thumbprint: string, name?: string): ServerEntry {
  const parsed = parseServerAddress(address);
  if (!isThumbprint(thumbprint.toUpperCase())) {
    throw new PollfleetError('input.invalid', `thumbprint for ${address}: expected 40 hex characters, got ${JSON.stringify(thumbprint)}`);
  }
  return name === undefined ? { ...parsed, thumbprint } : { ...parsed, thumbprint, name };
}

/**
 * The address a tentacle polls for a configured node: a `wss://` address as written (polling
 * over WebSockets), otherwise `https://host:port` (IPv6 in brackets).
 */
export function pollingAddress(n: { address: string; host: string; port: number }): string {
  if (/^wss:\/\//i.test(n.address)) return n.address;
  return `https://${isIP(n.host) === 6 ? `[${n.host}]` : n.host}:${n.port}`;
}
