import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret } from 'kubernetes-models/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { shardScenario } from '../../src/plan/shard.js';

// The Kubernetes manifests users apply are validated against the Kubernetes API schemas
// (kubernetes-models), and the pollfleet scenarios inside them against pollfleet's own.
const ROOT = join(import.meta.dirname, '..', '..', 'scenarios');
const MODELS: Record<string, new (o: never) => { validate(): void }> = { Namespace, Secret, ConfigMap, PersistentVolumeClaim, Job, CronJob };

type Doc = { kind: string; metadata: { name: string }; spec?: Record<string, unknown>; data?: Record<string, string> };

function manifests(file: string): Doc[] {
  return parseAllDocuments(readFileSync(join(ROOT, file), 'utf8')).map((d) => d.toJS() as Doc);
}

function validates(t: { ok(v: unknown, m: string): void; doesNotThrow(f: () => void, m: string): void }, file: string): Doc[] {
  const docs = manifests(file);
  for (const d of docs) {
    const Model = MODELS[d.kind];
    t.ok(Model, `${file}: ${d.kind} is a kind this test knows`);
    t.doesNotThrow(() => new Model!(d as never).validate(), `${file}: ${d.kind}/${d.metadata.name} validates against the Kubernetes schema`);
  }
  return docs;
}

const env = (c: { env?: { name: string; value?: string }[] }, name: string) => c.env?.find((e) => e.name === name)?.value;
type Container = { name: string; args: string[]; env?: { name: string; value?: string }[] };
const container = (job: Doc) => ((job.spec!['template'] as { spec: { containers: Container[] } }).spec.containers[0]!);

t.test('the shard and merge Jobs validate and agree with each other', async (t) => {
  const shards = validates(t, 'k8s/pollfleet-shards.yaml');
  const merge = validates(t, 'k8s/pollfleet-merge.yaml');
  const job = shards.find((d) => d.kind === 'Job')!;
  const spec = job.spec as { completionMode: string; completions: number; parallelism: number };
  const c = container(job);
  const n = Number(env(c, 'SHARDS'));
  t.equal(spec.completionMode, 'Indexed', 'the completion index picks the shard');
  t.equal(spec.completions, n, 'one completion per shard');
  t.equal(spec.parallelism, n, 'all shards at once');
  t.match(c.args.join(' '), /--shard "\$i\/\$SHARDS"/);
  t.match(c.args.join(' '), /i=\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)/);
  const m = container(merge.find((d) => d.kind === 'Job')!);
  t.equal(env(m, 'RUN_ID'), env(c, 'RUN_ID'), 'the merge reads the folder the shards wrote');

  // the scenario in the ConfigMap is a valid external pollfleet scenario that shards n ways
  const cm = shards.find((d) => d.kind === 'ConfigMap')!;
  const s = scenarioFromObject(parse(cm.data!['fleet.yaml']!) as Record<string, unknown>, 'fleet.yaml');
  const keyEnv = (c.env as { name: string; valueFrom?: unknown }[]).find((e) => e.name === s.external!.apiKeyEnv);
  t.ok(keyEnv?.valueFrom, 'the API key comes from the Secret, by the env var the scenario names');
  for (let i = 1; i <= n; i++) t.ok(shardScenario(s, { index: i, count: n }, 'fleet.yaml').fleet.tentacles > 0, `shard ${i}/${n} has tentacles`);
});

t.test('the scheduled-check CronJob validates and holds a valid scenario', async (t) => {
  const docs = validates(t, 'cron/pollfleet-cronjob.yaml');
  const cm = docs.find((d) => d.kind === 'ConfigMap')!;
  t.doesNotThrow(() => scenarioFromObject(parse(cm.data!['check.yaml']!) as Record<string, unknown>, 'check.yaml'));
});

t.test('a broken manifest does not validate (the check can fail)', async (t) => {
  const job = manifests('k8s/pollfleet-shards.yaml').find((d) => d.kind === 'Job')!;
  const broken = { ...job, spec: { ...job.spec, completions: 'three' } };
  t.throws(() => new Job(broken as never).validate(), /completions/);
});
