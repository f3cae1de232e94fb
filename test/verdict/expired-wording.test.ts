/** The diagnosis says what an expired request costs in real Octopus: a failed RPC Tentacle retries, not a failed step. */
import t from 'tap';
import { diagnose } from '../../src/verdict/diagnose.js';
import { cleanRun, setExpired } from '../helpers/result-factory.js';

t.test('expired requests: a failed RPC, retried for about 2.5 minutes, a step fails only beyond that', async (t) => {
  const r = cleanRun();
  setExpired(r, 'node2', 3);
  const [line] = diagnose(r).filter((s) => /expired/.test(s));
  t.equal(line, '3 requests expired (node2: 3): not collected within the polling request queue timeout -- an expired request fails the RPC; ' +
    'Tentacle retries it for about 2.5 minutes when RPC retries are on, so a deployment step fails when collection stays impossible longer than that.');
  t.notMatch(line, /failed task step/);
});
