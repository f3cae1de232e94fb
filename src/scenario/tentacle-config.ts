import { stringify } from 'yaml';
import { PollfleetError } from '../core/errors.js';
import { TENTACLE_DEFAULTS } from './defaults.js';

/**
 * Import a real Tentacle's `Tentacle.config` ([H] section 8): the flat XML
 * `<octopus-settings><set key="...">value</set>...</octopus-settings>`, whose key
 * `Tentacle.Communication.TrustedOctopusServers` holds a JSON array of server entries.
 * Only polling entries (CommunicationStyle 2 / "TentacleActive") are what the Tentacle
 * polls, so only those become nodes of the scenario.
 *
 * The format is flat (no nesting inside <set>), so a small strict parser is enough: it
 * accepts comments, an XML declaration and the five predefined entities plus numeric
 * character references, and names the line of anything else.
 */

export const TRUSTED_SERVERS_KEY = 'Tentacle.Communication.TrustedOctopusServers';
export const POLLING_CONNECTION_COUNT_KEY = 'Tentacle.Communication.PollingConnectionCount';

/** One TrustedOctopusServers item with CommunicationStyle polling. */
export interface TrustedPollingServer {
  thumbprint: string;
  address: string;
  subscriptionId: string | null;
  squid: string | null;
}

export interface TentacleConfig {
  /** Every <set> key and its decoded text. */
  settings: Map<string, string>;
  pollingServers: TrustedPollingServer[];
  /** Listening (TentaclePassive) entries, counted to tell the user they were left out. */
  listeningServers: number;
  pollingConnectionCount: number | null;
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

function styleOf(v: unknown): 'polling' | 'listening' | null {
  if (v === 2 || v === '2' || v === 'TentacleActive') return 'polling';
  if (v === 1 || v === '1' || v === 'TentaclePassive') return 'listening';
  return null;
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
  let listeningServers = 0;
  list.forEach((item, n) => {
    const where = `${TRUSTED_SERVERS_KEY}[${n}]`;
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw bad(file, `${where}: expected an object`);
    const o = item as Record<string, unknown>;
    const style = styleOf(o['CommunicationStyle']);
    if (style === null) {
      throw bad(file, `${where}.CommunicationStyle: unknown value ${JSON.stringify(o['CommunicationStyle'] ?? null)}`,
        'expected 2 or "TentacleActive" (polling) or 1 or "TentaclePassive" (listening)');
    }
    if (style === 'listening') {
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
    });
  });
  let pollingConnectionCount: number | null = null;
  const countText = settings.get(POLLING_CONNECTION_COUNT_KEY);
  if (countText !== undefined && countText.trim() !== '') {
    const c = Number(countText.trim());
    if (!Number.isInteger(c) || c < 1 || c > TENTACLE_DEFAULTS.maxPollingConnectionCount) {
      throw bad(file, `${POLLING_CONNECTION_COUNT_KEY}: expected a whole number from 1 to ${TENTACLE_DEFAULTS.maxPollingConnectionCount}, got ${JSON.stringify(countText)}`);
    }
    pollingConnectionCount = c;
  }
  return { settings, pollingServers, listeningServers, pollingConnectionCount };
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
  const subs = [...new Set(cfg.pollingServers.map((s) => s.subscriptionId).filter((x): x is string => x !== null))];
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
    fleet: {
      tentacles: 1,
      pollingConnectionCount: cfg.pollingConnectionCount ?? TENTACLE_DEFAULTS.pollingConnectionCount,
    },
    duration: '2m',
  };
  const notes = [
    `# Scenario imported from ${file} by pollfleet import-config.`,
    '# It polls exactly the server entries this Tentacle polls (CommunicationStyle 2 only).',
    ...(cfg.listeningServers ? [`# ${cfg.listeningServers} listening (TentaclePassive) entr${cfg.listeningServers === 1 ? 'y was' : 'ies were'} left out: they are not polled.`] : []),
    // The real machine's subscription is kept as a comment only: polling with it would take that machine's work.
    ...(subs.length ? [
      `# This Tentacle's subscription: ${subs.join(', ')} -- for reference only, never sent: a node hands a machine's queued`,
      '# work to whichever connection claims its subscription, so pollfleet gives every simulated tentacle a fresh one.',
    ] : []),
    ...(cfg.pollingServers.some((s) => s.squid) ? ['# Note: a Squid proxy is configured for some entries; pollfleet connects directly.'] : []),
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
