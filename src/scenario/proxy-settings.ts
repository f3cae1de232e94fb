import type { ResolveProblem } from './resolve-problem.js';
import type { ScenarioParsed } from './schema.js';
import { PROXY_DEFAULTS } from './defaults.js';

/** A proxy as Tentacle.config names one (Octopus.Server.Proxy.*); the password stays in its environment variable. */
export interface ProxyEndpointSettings {
  /** `http://host:port` as written (never with credentials). */
  url: string;
  host: string;
  port: number;
  username: string | null;
  passwordEnv: string | null;
}

/** Route kind proxy, resolved (src/environment/routes/proxy.ts). */
export interface ProxySettings {
  /** `simulator`/`squid`: pollfleet starts it on loopback; `none`: the proxy at `url` is used as it is. */
  program: 'simulator' | 'squid' | 'none';
  /** Listen (or connect) address; port 0 = a free port chosen at start. */
  host: string;
  port: number;
  url: string | null;
  username: string | null;
  passwordEnv: string | null;
  /** Ports CONNECT is denied to (403); `polling` / `api` stand for the nodes' ports. */
  denyPorts: (number | 'polling' | 'api')[];
  requireAuth: boolean;
  /** 0 = never. */
  cutTunnelsAfterMs: number;
  inspectTls: boolean;
  /** Where registration goes: through this proxy, straight, or through another proxy. */
  registration: 'same' | 'direct' | ProxyEndpointSettings;
}

function parseProxyUrl(url: string): { host: string; port: number } {
  const u = new URL(url);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port: u.port === '' ? 80 : Number(u.port) };
}

function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost';
}

/**
 * `route.proxy` and `route.registrationProxy` with their defaults, and every problem: proxy
 * settings with another route kind; a program that pollfleet starts on a non-loopback address;
 * simulator-only settings with Squid (Debian's squid cannot bump TLS: that is squid-openssl).
 */
export function resolveProxySettings(p: ScenarioParsed, routeKind: string): { proxy: ProxySettings; problems: ResolveProblem[] } {
  const problems: ResolveProblem[] = [];
  const r = p.route?.proxy;
  const isProxyRoute = routeKind === 'proxy';
  if (!isProxyRoute && r) problems.push({ path: 'route.proxy', message: `only used with route kind proxy (this route is ${routeKind})` });
  if (!isProxyRoute && p.route?.registrationProxy !== undefined) {
    problems.push({ path: 'route.registrationProxy', message: `only used with route kind proxy (this route is ${routeKind})` });
  }
  const program = r?.program ?? (r?.url ? 'none' : 'simulator');
  const at = r?.url ? parseProxyUrl(r.url) : { host: PROXY_DEFAULTS.host, port: 0 };
  if (isProxyRoute && program === 'none' && !r?.url) {
    problems.push({ path: 'route.proxy.url', message: 'program none uses a proxy you run: give its url (http://host:port), or choose program simulator or squid' });
  }
  if (isProxyRoute && program !== 'none' && !isLoopback(at.host)) {
    problems.push({ path: 'route.proxy.url', message: `pollfleet starts ${program} on loopback only: use a 127.x.y.z address, or program none for a proxy you run` });
  }
  if (isProxyRoute && program !== 'simulator') {
    if (r?.cutTunnelsAfter !== undefined) problems.push({ path: 'route.proxy.cutTunnelsAfter', message: 'only the simulator cuts tunnels (program simulator)' });
    if (r?.inspectTls) problems.push({ path: 'route.proxy.inspectTls', message: 'only the simulator inspects TLS (program simulator); Debian\'s squid package cannot bump TLS' });
  }
  if (isProxyRoute && program === 'none' && (r?.denyPorts !== undefined || r?.requireAuth !== undefined)) {
    problems.push({ path: 'route.proxy', message: 'denyPorts and requireAuth shape a proxy pollfleet starts (program simulator or squid), not one you run' });
  }
  if (isProxyRoute && program === 'squid' && r?.requireAuth && !r.username) {
    problems.push({ path: 'route.proxy.username', message: 'Squid with requireAuth needs the username (and passwordEnv) it accepts; leave requireAuth out or give them' });
  }
  if (r?.passwordEnv && !r.username) problems.push({ path: 'route.proxy.username', message: 'passwordEnv needs a username (Basic authentication)' });
  const reg = p.route?.registrationProxy;
  let registration: ProxySettings['registration'] = 'same';
  if (typeof reg === 'object') {
    if (reg.passwordEnv && !reg.username) problems.push({ path: 'route.registrationProxy.username', message: 'passwordEnv needs a username (Basic authentication)' });
    registration = { url: reg.url, ...parseProxyUrl(reg.url), username: reg.username ?? null, passwordEnv: reg.passwordEnv ?? null };
  } else if (reg) {
    registration = reg;
  }
  return {
    proxy: {
      program,
      host: at.host,
      port: at.port,
      url: r?.url ?? null,
      username: r?.username ?? null,
      passwordEnv: r?.passwordEnv ?? null,
      denyPorts: r?.denyPorts ?? [],
      requireAuth: r?.requireAuth ?? false,
      cutTunnelsAfterMs: r?.cutTunnelsAfter ?? 0,
      inspectTls: r?.inspectTls ?? false,
      registration,
    },
    problems,
  };
}
