import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EmbeddedCluster } from '../../src/cluster/embedded-cluster.js';
import type { ProcessStats } from '../../src/cluster/node-process.js';
import { generateCertificate } from '../../src/pki/certificate.js';
import { NODE_PROCESS_DEFAULTS, PROTOCOL_DEFAULTS } from '../../src/scenario/defaults.js';
import type { ProtocolSettings } from '../../src/scenario/resolve.js';

t.test('a node process with --expose-gc samples its figures after a GC, with its heap and connections', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'pollfleet-stats-'));
  const saved = { dir: process.env['POLLFLEET_PROCESS_STATS_DIR'], ms: process.env['POLLFLEET_PROCESS_STATS_MS'], opts: process.env['NODE_OPTIONS'] };
  // Read by the node process at its start (the fork copies this process's environment).
  process.env['POLLFLEET_PROCESS_STATS_DIR'] = dir;
  process.env['POLLFLEET_PROCESS_STATS_MS'] = '100';
  process.env['NODE_OPTIONS'] = `${saved.opts ?? ''} --expose-gc`.trim();
  const restore = (k: string, v: string | undefined) => (v === undefined ? delete process.env[k] : (process.env[k] = v));
  const cluster = new EmbeddedCluster({
    nodes: [{ name: 'node1', polling: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 } }],
    certificate: await generateCertificate({ commonName: 'Octopus Portal' }),
    apiKey: 'API-TEST',
    spaceId: 'Spaces-1',
    apiHttps: false,
    protocol: { ...PROTOCOL_DEFAULTS } as unknown as ProtocolSettings,
    workload: { intervalMs: 60_000, scriptShare: 0, enabled: false },
    queue: 'per-node',
    redisUrl: null,
    processes: true,
    sink: () => undefined,
  });
  t.teardown(async () => {
    await cluster.stop();
    restore('POLLFLEET_PROCESS_STATS_DIR', saved.dir);
    restore('POLLFLEET_PROCESS_STATS_MS', saved.ms);
    restore('NODE_OPTIONS', saved.opts);
    rmSync(dir, { recursive: true, force: true });
  });
  await cluster.start();
  let stats: ProcessStats | null = null;
  for (let i = 0; i < 100 && !stats; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      stats = JSON.parse(readFileSync(join(dir, 'node1.json'), 'utf8')) as ProcessStats;
    } catch {
      // not written yet
    }
  }
  t.ok(stats, 'the node wrote its figures');
  t.equal(stats!.afterGc, true, 'collected before the sample');
  t.equal(stats!.connections, 0, 'no polling connection yet');
  t.ok(stats!.heapTotal >= stats!.heapUsed && stats!.heapUsed > 0, 'heap figures');
  t.ok(stats!.rss > stats!.heapTotal, 'rss');
  t.type(stats!.external, 'number');
  t.type(stats!.arrayBuffers, 'number');
  t.ok(stats!.execArgv.includes('--max-semi-space-size=1'), `started with a small young generation (${stats!.execArgv.join(' ')})`);
  t.equal(stats!.glibcTunables, process.env['GLIBC_TUNABLES'] ?? NODE_PROCESS_DEFAULTS.glibcTunables, 'malloc returns 16 KiB blocks to the system (unless the user set GLIBC_TUNABLES)');
});
