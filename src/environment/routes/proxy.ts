import { randomBytes } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { PollfleetError } from '../../core/errors.js';
import { ConnectProxySimulator } from '../../network/connect-proxy-simulator.js';
import { startSquid } from '../../network/real/squid.js';
import type { ProxyEndpointSettings, ProxySettings } from '../../scenario/proxy-settings.js';
import type { Scenario } from '../../scenario/resolve.js';
import { proxyLabel, registrationProxyAgent, type ProxyEndpoint } from '../../tentacle/proxy-tunnel.js';
import { serverEntry } from '../../tentacle/server-entry.js';
import { directPlanEntries } from './direct.js';
import { registrationUrls, type MeasuredRun, type RouteContext, type RouteDefinition } from './route.js';

/**
 * Route kind proxy: every tentacle polls every node through an HTTP CONNECT proxy
 * (`tentacle -> CONNECT proxy -> node`). A real Tentacle does this when Tentacle.config sets
 * `Octopus.Server.Proxy.ProxyHost` / `ProxyPort` (and `ProxyUsername` / `ProxyPassword`):
 * Halibut opens `CONNECT node:10943` with Basic credentials and runs TLS to the node inside
 * the tunnel (OctopusDeploy/Halibut source/Halibut/Transport/Proxy/HttpProxyClient.cs,
 * created by ProxyClientFactory.cs from the endpoint's ProxyDetails; HTTP proxies only for
 * polling). Registration (REST on 80/443) goes through the same proxy, straight, or through
 * another one (`route.registrationProxy`) -- users hit the two differently.
 *
 * The proxy is pollfleet's CONNECT simulator (src/network/connect-proxy-simulator.ts: can
 * deny ports, demand authentication, cut tunnels, inspect TLS), real Squid
 * (src/network/real/squid.ts), or one you run (`program: none`).
 */

/** `route.proxy.passwordEnv`'s value; a set name whose variable is missing is bad input (exit 2). */
function passwordFrom(envName: string | null, path: string): string | undefined {
  if (!envName) return undefined;
  const v = process.env[envName];
  if (v === undefined || v === '') {
    throw new PollfleetError('input.invalid', `${path}: environment variable ${envName} is not set`, { hint: `export ${envName}=<the proxy password>` });
  }
  return v;
}

/** The proxy passwords a scenario names (the values of its passwordEnv variables): redaction literals for every output. */
export function proxySecrets(s: Scenario): string[] {
  if (s.route.kind !== 'proxy') return [];
  const p = s.route.proxy;
  const names = [p.passwordEnv, typeof p.registration === 'object' ? p.registration.passwordEnv : null];
  return names.map((n) => (n ? process.env[n] : undefined)).filter((v): v is string => typeof v === 'string' && v !== '');
}

function endpoint(host: string, port: number, username: string | null, password: string | undefined): ProxyEndpoint {
  return { host, port, ...(username ? { username } : {}), ...(password !== undefined ? { password } : {}) };
}

/** `polling` / `api` in denyPorts stand for the nodes' ports. */
function denyPortsOf(p: ProxySettings, pollingPorts: number[], apiPorts: number[]): number[] {
  return [...new Set(p.denyPorts.flatMap((d) => (d === 'polling' ? pollingPorts : d === 'api' ? apiPorts : [d])))];
}

function describeRegistration(reg: ProxySettings['registration']): string {
  if (reg === 'same') return 'registration through the same proxy';
  if (reg === 'direct') return 'registration straight to the nodes';
  return `registration through ${proxyLabel(reg)}`;
}

/**
 * An external target polled through the proxy the user runs (route kind proxy with `url`, as
 * import-config writes from Tentacle.config's Octopus.Server.Proxy.*): the polling proxy of
 * every entry, and the dispatcher registration goes through (null: straight to the API).
 */
export function userProxy(s: Scenario, verifyTls: boolean, registers: boolean): { polling: ProxyEndpoint; registration: Dispatcher | null; label: string } {
  const p = s.route.proxy;
  const polling = endpoint(p.host, p.port, p.username, passwordFrom(p.passwordEnv, 'route.proxy.passwordEnv'));
  const reg = p.registration;
  const registration =
    !registers || reg === 'direct'
      ? null
      : reg === 'same'
        ? registrationProxyAgent(polling, s.fleet.registrationConcurrency, verifyTls)
        : registrationProxyAgent(endpoint(reg.host, reg.port, reg.username, passwordFrom(reg.passwordEnv, 'route.registrationProxy.passwordEnv')), s.fleet.registrationConcurrency, verifyTls);
  return { polling, registration, label: `CONNECT proxy at ${proxyLabel(polling)}; ${describeRegistration(reg)}` };
}

async function build(ctx: RouteContext) {
  const s = ctx.scenario;
  const p = s.route.proxy;
  const password = passwordFrom(p.passwordEnv, 'route.proxy.passwordEnv');
  const pollingPorts = [...new Set(ctx.nodes.map((n) => n.pollingPort))];
  const apiPorts = [...new Set(ctx.nodes.map((n) => Number(new URL(n.apiUrl).port)))];
  const denyPorts = denyPortsOf(p, pollingPorts, apiPorts);
  // requireAuth without a user name: credentials nobody has, so every CONNECT is answered 407.
  const auth = p.requireAuth ? { username: p.username ?? `pollfleet-${randomBytes(4).toString('hex')}`, password: password ?? randomBytes(12).toString('hex') } : null;

  let host = p.host;
  let port = p.port;
  let label: string;
  let stopProxy: () => Promise<void> = async () => undefined;
  const shape = [
    denyPorts.length ? `denies ${denyPorts.join(', ')}` : '',
    auth ? 'requires authentication' : '',
    p.cutTunnelsAfterMs ? `cuts tunnels after ${p.cutTunnelsAfterMs} ms` : '',
    p.inspectTls ? 'inspects TLS' : '',
  ].filter(Boolean).join(', ');
  if (p.program === 'simulator') {
    const sim = new ConnectProxySimulator({ name: 'connect-proxy', host, port, denyPorts, auth, cutTunnelsAfterMs: p.cutTunnelsAfterMs, inspectTls: p.inspectTls });
    port = await sim.start();
    stopProxy = () => sim.stop();
    label = `CONNECT proxy simulator on ${host}:${port}${shape ? ` (${shape})` : ''}`;
  } else if (p.program === 'squid') {
    const squid = await startSquid({ workDir: `${ctx.workDir}/squid`, listenHost: host, port, allowPorts: [...pollingPorts, ...apiPorts], denyPorts, auth });
    port = squid.port;
    host = squid.host;
    stopProxy = () => squid.stop();
    label = `squid (CONNECT proxy) on ${host}:${port}${shape ? ` (${shape})` : ''}`;
  } else {
    label = `CONNECT proxy at ${proxyLabel({ host, port })}`;
  }
  const pollingProxy = endpoint(host, port, p.username, password);

  let registrationDispatcher: Dispatcher | undefined;
  const reg = p.registration;
  try {
    if (reg === 'same') {
      registrationDispatcher = registrationProxyAgent(pollingProxy, s.fleet.registrationConcurrency);
    } else if (reg !== 'direct') {
      const r: ProxyEndpointSettings = reg;
      registrationDispatcher = registrationProxyAgent(endpoint(r.host, r.port, r.username, passwordFrom(r.passwordEnv, 'route.registrationProxy.passwordEnv')), s.fleet.registrationConcurrency);
    }
  } catch (e) {
    await stopProxy();
    throw e;
  }

  return {
    entries: ctx.nodes.map((n) => ({ ...serverEntry(`https://${n.pollingHost}:${n.pollingPort}`, ctx.serverThumbprint, n.name), proxy: pollingProxy })),
    entryNodes: ctx.nodes.map((_, i) => i),
    registrationUrls: registrationUrls(s, ctx.nodes, null),
    ...(registrationDispatcher ? { registrationDispatcher } : {}),
    balancer: `${label}; ${describeRegistration(reg)}`,
    stop: async () => {
      await registrationDispatcher?.close().catch(() => undefined);
      await stopProxy();
    },
  };
}

// ---------- diagnosis (pure functions of the Result) ----------

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function portOf(address: string | undefined): string | null {
  if (!address) return null;
  try {
    const u = new URL(/^[a-z]+:\/\//i.test(address) ? address : `https://${address}`);
    return u.port || null;
  } catch {
    return null;
  }
}

/** How the Result's scenario sent registration: `same`, `direct` or another proxy's address. */
function registrationPath(r: MeasuredRun): string {
  const reg = (r.scenario as { route?: { proxy?: { registration?: unknown } } } | null)?.route?.proxy?.registration;
  if (reg === 'direct') return 'straight to the nodes';
  if (reg && typeof reg === 'object' && typeof (reg as { url?: unknown }).url === 'string') return `through the proxy ${(reg as { url: string }).url}`;
  return 'through the same proxy';
}

/**
 * The proxy's own sentences: a refused CONNECT (403), a demand for credentials (407), TLS
 * inspection (the node certificate replaced by one the proxy's CA issued), and -- when one
 * of registration and polling worked through the proxy and the other did not -- which.
 */
function proxyErrors(r: MeasuredRun): { sentences: string[]; replaces: string[] } {
  const s = r.summary;
  const errors = s.errors;
  const data = s.errorExampleData ?? {};
  const out: string[] = [];
  const replaces: string[] = [];
  const pollingProblems: string[] = [];

  const denied = errors['proxy.connect-denied'] ?? 0;
  if (denied) {
    const ex = data['proxy.connect-denied'];
    const port = portOf(ex?.address) ?? 'the polling port';
    const status = ex?.status ?? 403;
    out.push(
      `The proxy refused CONNECT to port ${port} (${status}) -- allow it: ${count(denied, 'connection attempt')} through ${ex?.proxy ?? 'the proxy'} ` +
        `were refused (Squid denies CONNECT to every port but 443 by default: add acl polling_ports port ${port} and http_access allow CONNECT polling_ports).`,
    );
    pollingProblems.push(`the proxy refused CONNECT to port ${port} (${status})`);
  }
  const auth = errors['proxy.auth-required'] ?? 0;
  if (auth) {
    const ex = data['proxy.auth-required'];
    out.push(
      `Proxy authentication required (407): ${count(auth, 'connection attempt')} through ${ex?.proxy ?? 'the proxy'} were refused -- ` +
        'give the proxy credentials it accepts (Tentacle.config Octopus.Server.Proxy.ProxyUsername / ProxyPassword; route.proxy.username and passwordEnv).',
    );
    pollingProblems.push('the proxy wanted authentication (407)');
  }
  const refused = errors['tcp.refused'] ?? 0;
  const rx = data['tcp.refused'];
  if (refused && rx?.proxy) {
    out.push(`The proxy ${rx.proxy} refused ${count(refused, 'TCP connection')} -- is it running and listening there (Octopus.Server.Proxy.ProxyHost / ProxyPort; route.proxy.url)?`);
    pollingProblems.push(`the proxy ${rx.proxy} refused TCP connections`);
  }
  const mismatches = errors['tls.thumbprint-mismatch'] ?? 0;
  const mx = data['tls.thumbprint-mismatch'];
  if (mismatches && mx?.presentedIssuer) {
    out.push(
      `The proxy inspects TLS: the node certificate was replaced by one issued by ${mx.presentedIssuer}; exempt the polling port from inspection ` +
        `(expected thumbprint ${mx.expectedThumbprint ?? '?'}, presented ${mx.presentedThumbprint ?? '?'}; ${count(mismatches, 'handshake')} refused: ` +
        'a tentacle pins the node\'s own certificate, and the node must see the tentacle\'s).',
    );
    replaces.push('tls.thumbprint-mismatch');
    pollingProblems.push(`the proxy inspects TLS (certificates issued by ${mx.presentedIssuer})`);
  }

  const registered = s.registrationMs.count;
  const regFailed = Object.values(s.registrationMs.failures).reduce((a, b) => a + b, 0);
  const regEx = data['registration.failed'] ?? data['api.error'];
  if (registered > 0 && pollingProblems.length && s.polls === 0) {
    out.push(
      `Registration worked ${registrationPath(r)} (${count(registered, 'tentacle')} registered) but polling through the proxy never did: ${pollingProblems.join('; ')} -- ` +
        'the install succeeds and the machine shows up, yet no node can hand it work.',
    );
  } else if (regFailed > 0 && regEx?.proxy) {
    out.push(
      `Registration ${registrationPath(r)} failed: the proxy ${regEx.proxy} answered ${regEx.status ?? 'an error'} for ${count(regFailed, 'tentacle')}` +
        `${s.polls > 0 ? ' while polling through the proxy worked' : ''} -- registration and polling may use different proxies (route.registrationProxy; the REST API on 80/443 must be allowed too).`,
    );
  }
  return { sentences: out, replaces };
}

/** Nodes nobody polled because the proxy refused them are explained by the proxy's sentences. */
function coverage(r: MeasuredRun, generic: { neverPolled: string[]; partlyPolled: string[] }): string[] {
  const e = r.summary.errors;
  const explained = (e['proxy.connect-denied'] ?? 0) + (e['proxy.auth-required'] ?? 0) > 0;
  return explained ? generic.partlyPolled : [...generic.neverPolled, ...generic.partlyPolled];
}

export const proxyRoute = {
  kind: 'proxy',
  summary: 'every connection through an HTTP CONNECT proxy (tentacle -> CONNECT proxy -> node): one server entry per node, TLS inside the tunnel',
  balanced: false,
  planEntries: (ctx) => directPlanEntries(ctx).map((e) => ({ ...e, address: `${e.address} via CONNECT proxy ${ctx.scenario.route.proxy.url ?? `http://${ctx.scenario.route.proxy.host}:<free port>`} (${ctx.scenario.route.proxy.program})` })),
  build,
  diagnosis: { coverage, errors: proxyErrors },
} satisfies RouteDefinition;
