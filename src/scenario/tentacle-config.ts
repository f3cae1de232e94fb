import { stringify } from 'yaml';
import { PollfleetError } from '../core/errors.js';
import { EXTERNAL_SAFETY_DEFAULTS, TENTACLE_DEFAULTS } from './defaults.js';

/**
 * Import a real Tentacle's `Tentacle.config` ([H] section 8): the flat XML
 * `<octopus-settings><set key="...">value</set>...</octopus-settings>`, whose key
 * `Tentacle.Communication.TrustedOctopusServers` holds a JSON array of server entries.
 * Only the entries the Tentacle polls become nodes of the scenario: CommunicationStyle 2
 * (TentacleActive) and 11 (KubernetesTentacle, the Kubernetes agent, when its
 * KubernetesTentacleCommunicationMode is Polling) -- the filter of OctopusDeploy/OctopusTentacle
 * source/Octopus.Tentacle/Communications/HalibutInitializer.cs, GetOctopusServersToPoll.
 *
 * The format is flat (no nesting inside <set>), so a small strict parser is enough: it
 * accepts comments, an XML declaration and the five predefined entities plus numeric
 * character references, and names the line of anything else.
 */

export const TRUSTED_SERVERS_KEY = 'Tentacle.Communication.TrustedOctopusServers';
export const POLLING_CONNECTION_COUNT_KEY = 'Tentacle.Communication.PollingConnectionCount';
/** The legacy server identifier ("squid"): NOT a proxy. A polling entry without SubscriptionId polls as poll://<squid, lower case>/. */
export const SQUID_KEY = 'Octopus.Communications.Squid';
/**
 * The polling proxy (OctopusTentacle source/Octopus.Tentacle/Configuration/PollingProxyConfiguration.cs;
 * Halibut opens an HTTP CONNECT tunnel through it). ProxyPassword is stored encrypted with the
 * machine key and is never read or copied.
 */
export const PROXY_KEYS = {
  host: 'Octopus.Server.Proxy.ProxyHost',
  port: 'Octopus.Server.Proxy.ProxyPort',
  useDefault: 'Octopus.Server.Proxy.UseDefaultProxy',
  username: 'Octopus.Server.Proxy.ProxyUsername',
  password: 'Octopus.Server.Proxy.ProxyPassword',
} as const;
/** Where the scenario expects the proxy password; the import never writes the password itself. */
export const PROXY_PASSWORD_ENV = 'POLLFLEET_PROXY_PASSWORD';
/** HTTP proxies' usual port, when ProxyPort is not set. */
const DEFAULT_PROXY_PORT = 80;

/** One TrustedOctopusServers item with CommunicationStyle polling. */
export interface TrustedPollingServer {
  thumbprint: string;
  address: string;
  subscriptionId: string | null;
  squid: string | null;
  /** CommunicationStyle 11: the Kubernetes agent (polling mode). */
  kubernetes: boolean;
}

/** The polling proxy the Tentacle uses, as far as the file tells. */
export type PollingProxy =
  | { kind: 'none' }
  /** UseDefaultProxy (true, or unset: its default): the system proxy, which the file does not hold. */
  | { kind: 'system'; ignoredHost: string | null }
  | { kind: 'custom'; host: string; port: number; portAssumed: boolean; username: string | null; hasPassword: boolean };

export interface TentacleConfig {
  /** Every <set> key and its decoded text. */
  settings: Map<string, string>;
  pollingServers: TrustedPollingServer[];
  /** Listening (TentaclePassive) entries, counted to tell the user they were left out. */
  listeningServers: number;
  /** Coerced into 1..512 as the real Tentacle does (see `notes`); null when not set. */
  pollingConnectionCount: number | null;
  /** Octopus.Communications.Squid (the legacy server id), or null. */
  squid: string | null;
  proxy: PollingProxy;
  /** What the import changed or could not take over, one sentence each (written as comments). */
  notes: string[];
}

const ENTITIES: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function bad(file: string, what: string, hint?: string): PollfleetError {
  return new PollfleetError('input.invalid', `${file}: ${what}`, { hint: hint ?? 'expected a Tentacle.config: <octopus-settings><set key="...">value</set>...</octopus-settings>' });
}

/** Decode XML character data; an unknown entity or a bare `&` is an error naming its line. */
export function decodeXmlText(raw: string, file: string, text: string, at: number): string {
  return raw.replace(/&([^;\s&<]*);?/g, (m, name: string, offset: number) => {
    if (!m.endsWith(';')) throw bad(file, `line ${lineOf(text, at + offset)}: a bare "&" (write &amp;)`);
    // Digits only: parseInt would take "-5" (and fromCodePoint would throw on it).
    if (/^#x[0-9a-f]+$/i.test(name)) {
      const cp = Number.parseInt(name.slice(2), 16);
      if (cp <= 0x10ffff) return String.fromCodePoint(cp);
    } else if (/^#[0-9]+$/.test(name)) {
      const cp = Number.parseInt(name.slice(1), 10);
      if (cp <= 0x10ffff) return String.fromCodePoint(cp);
    } else if (Object.hasOwn(ENTITIES, name)) return ENTITIES[name]!;
    throw bad(file, `line ${lineOf(text, at + offset)}: unknown XML entity ${m}`);
  });
}

/** Parse the flat settings document into key -> value. */
export function parseOctopusSettings(text: string, file: string): Map<string, string> {
  const settings = new Map<string, string>();
  let i = 0;
  const skipSpaceAndComments = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i + 4);
        if (end < 0) throw bad(file, `line ${lineOf(text, i)}: a comment <!-- is never closed`);
        i = end + 3;
      } else return;
    }
  };
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  skipSpaceAndComments();
  if (text.startsWith('<?xml', i)) {
    const end = text.indexOf('?>', i);
    if (end < 0) throw bad(file, 'line 1: the XML declaration <?xml ... is never closed');
    i = end + 2;
  }
  skipSpaceAndComments();
  const root = /^<octopus-settings(\s[^>]*)?>/.exec(text.slice(i));
  if (!root) {
    if (/^<octopus-settings\s*\/>/.test(text.slice(i))) return settings;
    const found = /^<([A-Za-z_][\w.:-]*)/.exec(text.slice(i))?.[1];
    throw bad(file, i >= text.length ? 'the file is empty' : `line ${lineOf(text, i)}: expected <octopus-settings>${found ? `, found <${found}>` : ''}`);
  }
  i += root[0].length;
  for (;;) {
    skipSpaceAndComments();
    if (text.startsWith('</octopus-settings>', i)) {
      i += '</octopus-settings>'.length;
      break;
    }
    if (i >= text.length) throw bad(file, 'the file ends before </octopus-settings> (truncated?)');
    const start = i;
    const open = /^<set\s+key\s*=\s*(?:"([^"<]*)"|'([^'<]*)')\s*(\/)?>/.exec(text.slice(i));
    if (!open) {
      const found = /^<\/?([A-Za-z_][\w.:-]*)/.exec(text.slice(i))?.[1];
      throw bad(file, `line ${lineOf(text, i)}: expected <set key="...">${found ? `, found <${found}>` : `, found ${JSON.stringify(text.slice(i, i + 20))}`}`);
    }
    const key = decodeXmlText(open[1] ?? open[2] ?? '', file, text, i);
    i += open[0].length;
    let value = '';
    if (!open[3]) {
      const close = text.indexOf('</set>', i);
      if (close < 0) throw bad(file, `line ${lineOf(text, start)}: <set key="${key}"> is never closed with </set>`);
      const raw = text.slice(i, close);
      const cdata = /^\s*<!\[CDATA\[([\s\S]*)\]\]>\s*$/.exec(raw);
      if (cdata) value = cdata[1]!;
      else {
        const lt = raw.indexOf('<');
        if (lt >= 0) throw bad(file, `line ${lineOf(text, i + lt)}: unexpected "<" inside <set key="${key}"> (write &lt;)`);
        value = decodeXmlText(raw, file, text, i);
      }
      i = close + '</set>'.length;
    }
    if (settings.has(key)) throw bad(file, `line ${lineOf(text, start)}: key ${key} is set twice`);
    settings.set(key, value);
  }
  skipSpaceAndComments();
  if (i < text.length) throw bad(file, `line ${lineOf(text, i)}: unexpected content after </octopus-settings>`);
  return settings;
}

/**
 * CommunicationStyle as stored: a number or the enum name. 0 (None) is fixed up to 1
 * (TentaclePassive) by the Tentacle at start-up (HalibutInitializer.FixCommunicationStyle), so it
 * is never polled. 11 (KubernetesTentacle) polls unless its KubernetesTentacleCommunicationMode
 * says Listening; that field's numeric values are *unconfirmed*, so only the name "Listening"
 * (or absent/"Polling" for polling) is read.
 */
function styleOf(v: unknown, k8sMode: unknown): 'polling' | 'listening' | 'none' | null {
  if (v === 2 || v === '2' || v === 'TentacleActive') return 'polling';
  if (v === 1 || v === '1' || v === 'TentaclePassive') return 'listening';
  if (v === 0 || v === '0' || v === 'None') return 'none';
  if (v === 11 || v === '11' || v === 'KubernetesTentacle') {
    return typeof k8sMode === 'string' && k8sMode.toLowerCase() === 'listening' ? 'listening' : 'polling';
  }
  return null;
}

/**
 * The polling proxy, decided as OctopusTentacle source/Octopus.Tentacle/Configuration/ProxyConfigParser.cs
 * (ParseToHalibutProxy) does: UseDefaultProxy (default true) first -- the system proxy; else a
 * custom proxy when ProxyHost is set; else none.
 */
function proxyOf(settings: Map<string, string>, file: string): PollingProxy {
  const host = settings.get(PROXY_KEYS.host)?.trim() || null;
  const useDefaultText = settings.get(PROXY_KEYS.useDefault)?.trim();
  let useDefault = true;
  if (useDefaultText !== undefined && useDefaultText !== '') {
    if (/^true$/i.test(useDefaultText)) useDefault = true;
    else if (/^false$/i.test(useDefaultText)) useDefault = false;
    else throw bad(file, `${PROXY_KEYS.useDefault}: expected True or False, got ${JSON.stringify(useDefaultText)}`);
  }
  // Only an explicit setting counts: without the key the Tentacle still "uses the default
  // proxy", but that is every Tentacle's default and usually means none is configured.
  if (useDefault) return useDefaultText !== undefined || host ? { kind: 'system', ignoredHost: host } : { kind: 'none' };
  if (!host) return { kind: 'none' };
  if (/[\s/@]/.test(host)) throw bad(file, `${PROXY_KEYS.host}: expected a host name or address, got ${JSON.stringify(host)}`);
  const portText = settings.get(PROXY_KEYS.port)?.trim();
  let port = DEFAULT_PROXY_PORT;
  if (portText) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(file, `${PROXY_KEYS.port}: expected a port from 1 to 65535, got ${JSON.stringify(portText)}`);
  }
  const username = settings.get(PROXY_KEYS.username)?.trim() || null;
  return { kind: 'custom', host, port, portAssumed: !portText, username, hasPassword: (settings.get(PROXY_KEYS.password) ?? '').trim() !== '' };
}

/** Parse a whole Tentacle.config. Errors name the file, the key, the item and what was expected. */
export function parseTentacleConfig(text: string, file: string): TentacleConfig {
  const settings = parseOctopusSettings(text, file);
  const rawServers = settings.get(TRUSTED_SERVERS_KEY);
  if (rawServers === undefined) {
    throw bad(file, `no ${TRUSTED_SERVERS_KEY} setting: this Tentacle trusts no server yet`, 'register it first (Tentacle register-with / poll-server), or copy the config of one that is');
  }
  let list: unknown;
  try {
    list = JSON.parse(rawServers.trim() === '' ? '[]' : rawServers);
  } catch (e) {
    throw bad(file, `${TRUSTED_SERVERS_KEY} is not valid JSON: ${(e as Error).message}`, 'expected a JSON array of {"Thumbprint","CommunicationStyle","Address","Squid","SubscriptionId"}');
  }
  if (!Array.isArray(list)) throw bad(file, `${TRUSTED_SERVERS_KEY}: expected a JSON array, got ${list === null ? 'null' : typeof list}`);
  const pollingServers: TrustedPollingServer[] = [];
  const notes: string[] = [];
  let listeningServers = 0;
  let fixedUp = 0;
  list.forEach((item, n) => {
    const where = `${TRUSTED_SERVERS_KEY}[${n}]`;
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw bad(file, `${where}: expected an object`);
    const o = item as Record<string, unknown>;
    const style = styleOf(o['CommunicationStyle'], o['KubernetesTentacleCommunicationMode']);
    if (style === null) {
      throw bad(file, `${where}.CommunicationStyle: unknown value ${JSON.stringify(o['CommunicationStyle'] ?? null)}`,
        'expected 2 or "TentacleActive" (polling), 11 or "KubernetesTentacle" (the Kubernetes agent), 1 or "TentaclePassive" (listening), or 0 (None: treated as 1)');
    }
    if (style === 'none') fixedUp++;
    if (style === 'listening' || style === 'none') {
      listeningServers++;
      return;
    }
    const thumbprint = o['Thumbprint'];
    if (typeof thumbprint !== 'string' || !/^[0-9A-Fa-f]{40}$/.test(thumbprint.trim())) {
      throw bad(file, `${where}.Thumbprint: expected 40 hex characters, got ${JSON.stringify(thumbprint ?? null)}`);
    }
    const address = o['Address'];
    if (typeof address !== 'string' || address.trim() === '') throw bad(file, `${where}.Address: expected the server's polling address, e.g. https://octopus1:10943`);
    const sub = o['SubscriptionId'];
    if (sub !== undefined && sub !== null && (typeof sub !== 'string' || !/^poll:\/\/[a-z0-9.-]+\/$/i.test(sub))) {
      throw bad(file, `${where}.SubscriptionId: expected poll://<id>/, got ${JSON.stringify(sub)}`);
    }
    const squid = o['Squid'];
    pollingServers.push({
      thumbprint: thumbprint.trim(),
      address: address.trim(),
      subscriptionId: typeof sub === 'string' ? sub : null,
      squid: typeof squid === 'string' ? squid : null,
      kubernetes: style === 'polling' && (o['CommunicationStyle'] === 11 || o['CommunicationStyle'] === '11' || o['CommunicationStyle'] === 'KubernetesTentacle'),
    });
  });
  const k8s = pollingServers.filter((s) => s.kubernetes).length;
  if (k8s) notes.push(`${k8s} polled entr${k8s === 1 ? 'y is' : 'ies are'} the Kubernetes agent (CommunicationStyle 11): polled like a polling Tentacle.`);
  if (fixedUp) {
    notes.push(`${fixedUp} entr${fixedUp === 1 ? 'y has' : 'ies have'} CommunicationStyle 0 (None), which the Tentacle treats as 1 (listening): not polled.`);
  }
  let pollingConnectionCount: number | null = null;
  const countText = settings.get(POLLING_CONNECTION_COUNT_KEY);
  if (countText !== undefined && countText.trim() !== '') {
    const c = Number(countText.trim());
    if (!/^[+-]?\d+$/.test(countText.trim()) || !Number.isSafeInteger(c)) {
      throw bad(file, `${POLLING_CONNECTION_COUNT_KEY}: expected a whole number, got ${JSON.stringify(countText)}`);
    }
    // Out of range is coerced, not refused: "The value is coerced to 1 <= count <= 512"
    // (OctopusDeploy/OctopusTentacle docs/polling-connection-count.md).
    const max = TENTACLE_DEFAULTS.maxPollingConnectionCount;
    pollingConnectionCount = Math.min(max, Math.max(1, c));
    if (pollingConnectionCount !== c) {
      notes.push(`${POLLING_CONNECTION_COUNT_KEY} is ${c}: the Tentacle coerces it into 1..${max}, so it opens ${pollingConnectionCount} connection${pollingConnectionCount === 1 ? '' : 's'} per node; so does this scenario.`);
    }
  }
  const squidText = settings.get(SQUID_KEY)?.trim();
  return { settings, pollingServers, listeningServers, pollingConnectionCount, squid: squidText ? squidText : null, proxy: proxyOf(settings, file), notes };
}

/** host:port of a TrustedOctopusServers address (`https://host:port/`, `host:port`); the polling port when absent. */
function pollingAddress(address: string, file: string, n: number): string {
  let m = /^https:\/\/([^/]+?)\/?$/i.exec(address);
  const hostPort = m ? m[1]! : address;
  if (/^wss:\/\//i.test(address)) return address; // WebSocket polling: kept as written
  m = /^(\[[^\]]+\]|[^:/\s]+)(?::(\d+))?$/.exec(hostPort);
  if (!m) throw bad(file, `${TRUSTED_SERVERS_KEY}[${n}].Address: ${JSON.stringify(address)} is not https://host:port`);
  return `${m[1]}:${m[2] ?? '10943'}`;
}

/**
 * The scenario that tests exactly the server entries the Tentacle polls, as YAML with
 * comments telling the user what to add (identity, API key).
 */
export function scenarioYamlFromTentacleConfig(cfg: TentacleConfig, file: string, name = 'imported'): string {
  if (cfg.pollingServers.length === 0) {
    throw bad(file, `${TRUSTED_SERVERS_KEY} has no polling entries (CommunicationStyle 2 / TentacleActive)${cfg.listeningServers ? `; ${cfg.listeningServers} listening entr${cfg.listeningServers === 1 ? 'y is' : 'ies are'} not polled` : ''}`,
      'this Tentacle is not a polling Tentacle: nothing to test');
  }
  if (cfg.pollingServers.length > EXTERNAL_SAFETY_DEFAULTS.maxNodes) {
    throw bad(file, `${TRUSTED_SERVERS_KEY} has ${cfg.pollingServers.length} polling entries; a scenario tests at most ${EXTERNAL_SAFETY_DEFAULTS.maxNodes} nodes`,
      'an Octopus HA cluster has a handful of nodes: check that this is the Tentacle.config you meant');
  }
  const subs = [...new Set(cfg.pollingServers.map((s) => s.subscriptionId).filter((x): x is string => x !== null))];
  // An entry without SubscriptionId polls as poll://<Octopus.Communications.Squid, lower case>/
  // (HalibutInitializer.AddPollingEndpoints). Recorded as a comment only, like any real subscription.
  const squidSub = cfg.squid && cfg.pollingServers.some((s) => s.subscriptionId === null) ? `poll://${cfg.squid.toLowerCase()}/` : null;
  const proxy = cfg.proxy;
  const thumbs = [...new Set(cfg.pollingServers.map((s) => s.thumbprint.toUpperCase()))];
  const nodes = cfg.pollingServers.map((s, n) => ({
    name: `node${n + 1}`,
    polling: pollingAddress(s.address, file, n),
    ...(thumbs.length > 1 ? { thumbprint: s.thumbprint.toUpperCase() } : {}),
  }));
  const body: Record<string, unknown> = {
    name,
    description: `Imported from ${file}: the ${nodes.length} polling server entr${nodes.length === 1 ? 'y' : 'ies'} this Tentacle polls`,
    target: 'external',
    external: {
      nodes,
      ...(thumbs.length === 1 ? { thumbprint: thumbs[0] } : {}),
    },
    ...(proxy.kind === 'custom' ? {
      route: {
        kind: 'proxy',
        proxy: {
          url: `http://${proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host}:${proxy.port}`,
          ...(proxy.username ? { username: proxy.username, passwordEnv: PROXY_PASSWORD_ENV } : {}),
        },
      },
    } : {}),
    fleet: {
      tentacles: 1,
      // A Kubernetes agent's entries (CommunicationStyle 11): the agent profile, registered as KubernetesTentacle.
      ...(cfg.pollingServers.some((s) => s.kubernetes) ? { profile: 'kubernetes-agent' } : {}),
      pollingConnectionCount: cfg.pollingConnectionCount ?? (cfg.pollingServers.some((s) => s.kubernetes) ? TENTACLE_DEFAULTS.kubernetesAgentPollingConnectionCount : TENTACLE_DEFAULTS.pollingConnectionCount),
    },
    duration: '2m',
  };
  const notes = [
    `# Scenario imported from ${file} by pollfleet import-config.`,
    '# It polls exactly the server entries this Tentacle polls (CommunicationStyle 2, and 11: the Kubernetes agent).',
    ...(cfg.listeningServers ? [`# ${cfg.listeningServers} listening (TentaclePassive) entr${cfg.listeningServers === 1 ? 'y was' : 'ies were'} left out: they are not polled.`] : []),
    // The real machine's subscription is kept as a comment only: polling with it would take that machine's work.
    ...(subs.length ? [
      `# This Tentacle's subscription: ${subs.join(', ')} -- for reference only, never sent: a node hands a machine's queued`,
      '# work to whichever connection claims its subscription, so pollfleet gives every simulated tentacle a fresh one.',
    ] : []),
    ...(squidSub ? [
      `# Entries without a SubscriptionId poll as ${squidSub} (from ${SQUID_KEY}, the legacy server id) --`,
      '# for reference only, never sent either.',
    ] : []),
    ...cfg.notes.map((n) => `# Note: ${n}`),
    ...(proxy.kind === 'custom' ? [
      `# The Tentacle polls through the HTTP proxy ${proxy.host}:${proxy.port}${proxy.portAssumed ? ` (${PROXY_KEYS.port} is not set: ${DEFAULT_PROXY_PORT} assumed)` : ''}: the proxy route below is used:`,
      '# every polling connection (and registration, route.registrationProxy) goes through it, never directly.',
      ...(proxy.username ? [`# Set ${PROXY_PASSWORD_ENV} to the proxy password: ${PROXY_KEYS.password} is encrypted in the file and never copied.`] : []),
    ] : []),
    ...(proxy.kind === 'system' ? [
      `# Note: the Tentacle uses the system proxy (${PROXY_KEYS.useDefault}${proxy.ignoredHost ? `; it ignores ${PROXY_KEYS.host} ${proxy.ignoredHost}` : ''}),`,
      '# which cannot be read from this file: this scenario connects directly. Add the proxy route if the system proxy is in the path.',
    ] : []),
    '#',
    '# Before running, add under external: (see README, "Validate your real cluster"):',
    '#   identity: { pfx: tentacle.pfx, passphraseEnv: TENTACLE_PFX_PASSPHRASE }',
    '#     -- the Tentacle certificate the cluster trusts (Tentacle export-certificate),',
    '#        or cert: tentacle.pem + key: tentacle.key',
    '#   apiUrl: https://octopus.example.com    -- the public URL (through the balancer)',
    '#   apiKeyEnv: OCTOPUS_API_KEY             -- the NAME of the variable holding the key, never the key',
    '#   and per node  api: https://node1.internal  -- its direct URL, for the ping check',
    '# Then: pollfleet preflight <this file>, and pollfleet run <this file>.',
    '',
  ];
  return notes.join('\n') + stringify(body, { lineWidth: 0 });
}
