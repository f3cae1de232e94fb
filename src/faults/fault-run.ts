import type { EmbeddedCluster, RunningNode } from '../cluster/embedded-cluster.js';
import type { EventSink, PollfleetEvent } from '../core/events.js';
import { FaultAnalyzer, type AnalyzedFault } from '../metrics/fault-analysis.js';
import type { Phase, Recorder } from '../metrics/recorder.js';
import type { FaultResult, TimelinePoint } from '../result/result.js';
import { BACKOFF_DEFAULTS } from '../scenario/defaults.js';
import { needsFaultProxy } from './resolve-faults.js';
import type { Scenario } from '../scenario/resolve.js';
import type { ServerEntry } from '../tentacle/server-entry.js';
import type { RouteEnvironment } from '../environment/routes/route.js';
import { faultStory } from '../verdict/fault-story.js';
import { faultNode } from './fault-spec.js';
import { startFaultProxies, type FaultProxies } from './fault-proxies.js';
import { FaultTimeline } from './fault-timeline.js';
import { faultDefinition } from './fault-registry.js';

/**
 * Everything a run does for its fault timeline, in one place the orchestrator calls at
 * five moments: wrap the nodes in fault proxies (when network faults need them), attach
 * to the running environment, start with the steady phase, name the phase, and stop.
 * The measurements come from FaultAnalyzer (src/metrics/fault-analysis.ts), fed by events.
 */
export class FaultRun {
  readonly #s: Scenario;
  readonly #log: (line: string) => void;
  #proxies: FaultProxies | null = null;
  #timeline: FaultTimeline | null = null;
  #analyzer: FaultAnalyzer | null = null;
  #bestCoverage = 0;

  constructor(s: Scenario, log: (line: string) => void) {
    this.#s = s;
    this.#log = log;
  }

  get hasFaults(): boolean {
    return this.#s.faults.length > 0;
  }

  /** An event sink that feeds the analysis, then `also`. */
  sinkWith(also?: EventSink): EventSink | undefined {
    if (!this.hasFaults) return also;
    return (e: PollfleetEvent) => {
      this.#analyzer?.record(e);
      also?.(e);
    };
  }

  /** The nodes as the route should reach them: through a fault proxy each, when network faults need one. */
  async wrapNodes(nodes: RunningNode[]): Promise<RunningNode[]> {
    if (!needsFaultProxy(this.#s.faults)) return nodes;
    this.#proxies = await startFaultProxies(nodes);
    this.#log(`fault proxies in front of ${nodes.map((n) => n.name).join(', ')}`);
    return this.#proxies.nodes;
  }

  attach(a: {
    cluster: EmbeddedCluster;
    env: RouteEnvironment;
    recorder: Recorder;
    entriesFor: (t: number) => ServerEntry[];
    nodeNames: string[];
    runStartedAt: number;
  }): void {
    if (!this.hasFaults) return;
    const s = this.#s;
    const N = a.nodeNames.length;
    const entryIndex = new Map(a.env.entries.map((e, i) => [e, i]));
    const entryNodesCache = new Map<number, number[]>();
    const faults: AnalyzedFault[] = s.faults.map((f) => ({
      name: f.name,
      action: f.action,
      target: f.targetText,
      node: faultNode(f),
      forMs: f.forMs,
      blocksTarget: faultDefinition(f.action).blocksTarget,
      losesQueuedWork: faultDefinition(f.action).losesQueuedWork,
    }));
    this.#analyzer = new FaultAnalyzer({
      faults,
      nodeNames: a.nodeNames,
      tentacles: s.fleet.tentacles,
      entryNodes: (t) => {
        let v = entryNodesCache.get(t);
        if (!v) {
          v = a.entriesFor(t).map((e) => a.env.entryNodes[entryIndex.get(e) ?? -1] ?? -1);
          entryNodesCache.set(t, v);
        }
        return v;
      },
      isConnected: (t, n) => a.recorder.pairConns[t * N + n]! > 0,
      runStartedAt: a.runStartedAt,
      backoff: s.backoff.minMs >= BACKOFF_DEFAULTS.minMs && s.backoff.maxMs >= BACKOFF_DEFAULTS.maxMs ? 'faithful' : 'shortened',
      receiveRequestTimeoutMs: s.protocol.receiveRequestTimeoutMs,
      pollingRequestQueueTimeoutMs: s.protocol.pollingRequestQueueTimeoutMs,
      runEndedAt: () => a.recorder.final?.at ?? null,
    });
    const analyzer = this.#analyzer;
    this.#timeline = new FaultTimeline(
      s.faults,
      { cluster: a.cluster, balancer: a.env.faultTargets?.balancer ?? null, proxies: this.#proxies, redis: a.cluster.redis, state: new Map(), log: this.#log },
      {
        started: (i, at) => analyzer.started(i, at),
        ended: (i, at) => analyzer.ended(i, at),
        failed: (i, message) => {
          this.#log(`fault ${s.faults[i]!.name}: ${message}`);
          analyzer.failed(i, message);
        },
      },
    );
  }

  /**
   * Before the fleet starts: nodes that join the cluster only with their fault (node-added)
   * are taken out, so the run begins without them.
   */
  async prepare(cluster: Pick<EmbeddedCluster, 'stopNode'>): Promise<void> {
    for (const f of this.#s.faults) {
      const node = faultNode(f);
      if (faultDefinition(f.action).joinsCluster && node) {
        await cluster.stopNode(node);
        this.#log(`${node} is not in the cluster until ${f.name}`);
      }
    }
  }

  /** Start the timeline: fault times count from `steadyFrom` (epoch ms). */
  start(steadyFrom: number): void {
    this.#timeline?.start(steadyFrom);
  }

  /** The phase for the next timeline sample: 'fault' / 'recovering' during and after faults, else as given. */
  phase(current: Phase, timeline: readonly TimelinePoint[]): Phase {
    if (!this.#timeline || current === 'ramping' || current === 'registering' || current === 'stopping') return current;
    const last = timeline[timeline.length - 1];
    if (last && last.phase === 'steady' && last.coverage > this.#bestCoverage) this.#bestCoverage = last.coverage;
    // recovering ends when coverage is back to 100 %, or to the best before the faults (a partial configuration)
    const share = this.#bestCoverage > 0 ? Math.min(1, (last?.coverage ?? 1) / this.#bestCoverage) : 1;
    return this.#timeline.phase(share) ?? 'steady';
  }

  /** One FaultResult per fault, its story told from the measured facts and the kind's words (src/verdict/fault-story.ts). */
  results(timeline: readonly TimelinePoint[]): FaultResult[] {
    if (!this.#analyzer) return [];
    const receiveRequestTimeoutMs = this.#s.protocol.receiveRequestTimeoutMs;
    return this.#analyzer.measure(timeline).map(({ result, facts }, i) => {
      const f = this.#s.faults[i]!;
      const def = faultDefinition(f.action);
      result.story = faultStory(result, def.story(f), { ...facts, receiveRequestTimeoutMs });
      if (def.diagnosis && facts.started) result.diagnosis = def.diagnosis(f);
      return result;
    });
  }

  /** Cancel faults not yet due, then close the proxies. */
  async stop(): Promise<void> {
    await this.#timeline?.stop();
    await this.#proxies?.stop();
    this.#proxies = null;
  }
}
