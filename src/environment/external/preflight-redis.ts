import { createClient } from 'redis';
import { redactUrl } from '../../cluster/redis-queue.js';

/**
 * Preflight for multi-node polling: lint what can be seen of the Redis the user points
 * pollfleet at (external.redisUrl). Octopus asks for a Redis that never drops or keeps
 * queue data on its own ([H] section 4, Halibut docs/RedisQueue.md):
 *
 * - `maxmemory-policy noeviction`: an evicting policy silently drops queued requests and
 *   stored responses under memory pressure;
 * - no persistence (`save ""`, `appendonly no`): a restarted Redis must come back empty, so
 *   the nodes' data-loss detection fails in-flight work instead of replaying stale requests;
 * - not a replica: a replica is read-only and the queue writes.
 *
 * CONFIG GET may be refused (managed Redis services rename or disable CONFIG): then the
 * check falls back to INFO where it can, and says what it could not see.
 */
/** One preflight step (a PreflightStep of preflight-checks.ts). */
export interface RedisLintStep {
  step: 'redis';
  status: 'pass' | 'fail' | 'skip';
  detail: string;
  hint?: string;
}

export async function lintRedis(url: string, timeoutMs: number): Promise<RedisLintStep> {
  const where = redactUrl(url);
  const client = createClient({ url, disableOfflineQueue: true, socket: { connectTimeout: timeoutMs, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await withTimeout(client.connect(), timeoutMs);
    const problems: string[] = [];
    const unseen: string[] = [];
    const config = async (name: string): Promise<string | null> => {
      try {
        const r = (await withTimeout(client.configGet(name), timeoutMs)) as Record<string, string>;
        return r[name] ?? null;
      } catch {
        unseen.push(name);
        return null;
      }
    };
    const info = await withTimeout(client.info(), timeoutMs).catch(() => '');
    const infoField = (k: string) => new RegExp(`^${k}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? null;

    const policy = (await config('maxmemory-policy')) ?? infoField('maxmemory_policy');
    if (policy !== null && policy !== 'noeviction') problems.push(`maxmemory-policy is ${policy} (must be noeviction: an evicting Redis drops queued requests under memory pressure)`);
    const save = await config('save');
    if (save !== null && save.trim() !== '') problems.push(`RDB snapshots are on (save "${save}"; must be save "")`);
    const aof = (await config('appendonly')) ?? (infoField('aof_enabled') === '1' ? 'yes' : infoField('aof_enabled') === '0' ? 'no' : null);
    if (aof !== null && aof !== 'no') problems.push('appendonly is yes (must be no: no persistence)');
    const role = infoField('role');
    if (role !== null && role !== 'master') problems.push(`the role is ${role} (must be a primary, not a replica)`);
    if (role === null) unseen.push('role');

    if (problems.length) {
      return { step: 'redis', status: 'fail', detail: `${where}: ${problems.join('; ')}`, hint: 'multi-node polling needs Redis without persistence or replication, maxmemory-policy noeviction (Octopus multi-node polling documentation)' };
    }
    const seen = unseen.length ? ` (could not read ${unseen.join(', ')}: CONFIG may be disabled)` : '';
    return { step: 'redis', status: 'pass', detail: `${where}: noeviction, no persistence, primary${seen}` };
  } catch (e) {
    return { step: 'redis', status: 'fail', detail: `${where} is not reachable: ${(e as Error).message}`, hint: 'check external.redisUrl and that this machine may reach Redis' };
  } finally {
    try {
      client.destroy();
    } catch {
      /* never connected */
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
