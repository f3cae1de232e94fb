import t from 'tap';
import { scenarioFromObject } from '../../src/scenario/loader.js';
import { WORKLOAD_DEFAULTS } from '../../src/scenario/defaults.js';

t.test('workload task knobs resolve with defaults, sizes and durations', async (t) => {
  const d = scenarioFromObject({ name: 'x' }, 'x').workload.tasks;
  t.same(d.mix, WORKLOAD_DEFAULTS.mix, 'a realistic default mix');
  t.equal(d.concurrentTasksPerTentacle, 1);
  const s = scenarioFromObject({
    name: 'x',
    workload: { mix: { upload: 1 }, concurrentTasksPerTentacle: 20, scriptDuration: '3s', uploadSize: '50MiB', taskCap: 5 },
  }, 'x').workload.tasks;
  t.same(s.mix, { health: 0, deploy: 0, upload: 1 });
  t.equal(s.concurrentTasksPerTentacle, 20);
  t.equal(s.scriptDurationMs, 3_000);
  t.equal(s.uploadBytes, 50 * 1024 * 1024);
  t.equal(s.taskCap, 5);
  t.equal(scenarioFromObject({ name: 'x', workload: { uploadSize: 1000 } }, 'x').workload.tasks.uploadBytes, 1000, 'plain bytes');
  t.same(scenarioFromObject({ name: 'x', workload: { scriptShare: 0.25 } }, 'x').workload.tasks.mix, { health: 0.75, deploy: 0.25, upload: 0 }, 'legacy scriptShare');
});

t.test('bad workload knobs are refused with the field named', async (t) => {
  t.throws(() => scenarioFromObject({ name: 'x', workload: { uploadSize: 'lots' } }, 'x'), /workload\.uploadSize.*expected a size/s);
  t.throws(() => scenarioFromObject({ name: 'x', workload: { mix: { health: 0 } } }, 'x'), /workload\.mix.*at least one weight/s);
  t.throws(() => scenarioFromObject({ name: 'x', workload: { mix: { probes: 1 } } }, 'x'), /workload\.mix/);
  t.throws(() => scenarioFromObject({ name: 'x', workload: { concurrentTasksPerTentacle: 0 } }, 'x'), /concurrentTasksPerTentacle/);
});
