import t from 'tap';
import { PassThrough } from 'node:stream';
import { now } from '../../src/core/clock.js';
import { DeadlineTimer, type DeadlineHolder } from '../../src/halibut/deadline-timer.js';
import { ProtocolReader } from '../../src/halibut/reader.js';

/** A holder that records when it was called. */
function holder(name: string, calls: { name: string; at: number }[]): DeadlineHolder {
  return { deadlineAt: 0, deadlineIndex: -1, onDeadline: () => calls.push({ name, at: now() }) };
}

const timeoutCount = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

t.test('every deadline fires once, never before it and not long after, in deadline order', async (t) => {
  const timer = new DeadlineTimer();
  const calls: { name: string; at: number }[] = [];
  const start = now();
  const plan: [string, number][] = [['c', 300], ['a', 60], ['e', 450], ['b', 150], ['d', 300], ['f', 10]];
  const due = new Map<string, number>();
  for (const [name, ms] of plan) {
    due.set(name, start + ms);
    timer.schedule(holder(name, calls), start + ms);
  }
  t.equal(timer.size, 6);
  await new Promise((r) => setTimeout(r, 700));
  t.same(calls.map((c) => c.name).sort(), ['a', 'b', 'c', 'd', 'e', 'f'], 'each fired exactly once');
  t.same(calls.map((c) => c.name).slice(0, 3), ['f', 'a', 'b'], 'in deadline order');
  for (const c of calls) {
    const late = c.at - due.get(c.name)!;
    t.ok(late >= 0, `${c.name} not early (${late.toFixed(1)} ms after its deadline)`);
    // Generous for a loaded 2-core machine; a coarse tick or a missed re-arm would be far later or never.
    t.ok(late < 200, `${c.name} not long after its deadline (${late.toFixed(1)} ms)`);
  }
  t.equal(timer.size, 0, 'nothing left');
});

t.test('re-scheduling moves a deadline either way; a cancelled one never fires', async (t) => {
  const timer = new DeadlineTimer();
  const calls: { name: string; at: number }[] = [];
  const start = now();
  const later = holder('later', calls);
  const sooner = holder('sooner', calls);
  const gone = holder('gone', calls);
  timer.schedule(later, start + 50);
  timer.schedule(sooner, start + 400);
  timer.schedule(gone, start + 100);
  timer.schedule(later, start + 300); // moved later: must not fire at 50
  timer.schedule(sooner, start + 80); // moved sooner: the armed timer must follow
  timer.cancel(gone);
  t.equal(gone.deadlineIndex, -1);
  await new Promise((r) => setTimeout(r, 200));
  t.same(calls.map((c) => c.name), ['sooner'], 'only the moved-up deadline has fired by 200 ms');
  t.ok(calls[0]!.at >= start + 80, 'not before its new deadline');
  await new Promise((r) => setTimeout(r, 250));
  t.same(calls.map((c) => c.name), ['sooner', 'later']);
  t.ok(calls[1]!.at >= start + 300, 'the postponed one fired after its new deadline, not its first');
});

t.test('a deadline reached while others are added and removed in bulk still fires exactly', async (t) => {
  const timer = new DeadlineTimer();
  const calls: { name: string; at: number }[] = [];
  const start = now();
  const hs = Array.from({ length: 200 }, (_, i) => holder(`h${i}`, calls));
  hs.forEach((h, i) => timer.schedule(h, start + 100 + ((i * 37) % 200)));
  hs.forEach((h, i) => {
    if (i % 2 === 1) timer.cancel(h);
  });
  await new Promise((r) => setTimeout(r, 500));
  t.equal(calls.length, 100, 'the 100 not cancelled fired');
  for (const c of calls) {
    const i = Number(c.name.slice(1));
    t.equal(i % 2, 0, `${c.name} was not cancelled`);
    if (c.at < start + 100 + ((i * 37) % 200)) t.fail(`${c.name} fired early`);
  }
  t.equal(timer.size, 0);
});

t.test('readers waiting for bytes share one timer: an idle reader holds no Timeout of its own', async (t) => {
  const before = timeoutCount();
  const inputs = Array.from({ length: 50 }, () => new PassThrough());
  const readers = inputs.map((i) => new ProtocolReader(i, { maxMessageBytes: 1024 * 1024 }));
  const waits = readers.map((r) => r.waitForData({ timeoutMs: 60_000 }));
  t.ok(timeoutCount() - before <= 1, `50 waiting readers add at most one Timeout (added ${timeoutCount() - before})`);
  inputs.forEach((i) => i.write(Buffer.from('x')));
  await Promise.all(waits);
  // The last wait's deadline gone, the shared timer stops: nothing keeps the process up.
  t.equal(timeoutCount(), before, 'no Timeout left once no read waits');
  for (const r of readers) r.dispose();
});

t.test('a reader times out through the shared timer, with its own timeout and kind', async (t) => {
  const a = new ProtocolReader(new PassThrough(), { maxMessageBytes: 1024 });
  const b = new ProtocolReader(new PassThrough(), { maxMessageBytes: 1024 });
  const start = now();
  const pa = a.readLine({ timeoutMs: 300, timeoutKind: 'timeout.heartbeat' }).catch((e: Error & { kind?: string }) => ({ e, at: now() }));
  const pb = b.waitForData({ timeoutMs: 100 }).catch((e: Error & { kind?: string }) => ({ e, at: now() }));
  const [ra, rb] = await Promise.all([pa, pb]);
  t.match(rb, { e: { name: 'HalibutError', kind: 'timeout.receive', message: 'no data received for 100 ms' } });
  t.match(ra, { e: { name: 'HalibutError', kind: 'timeout.heartbeat', message: 'no data received for 300 ms' } });
  t.ok((rb as { at: number }).at - start >= 100, 'the 100 ms read not early');
  t.ok((ra as { at: number }).at - start >= 300, 'the 300 ms read not early (the earlier deadline did not end it)');
  t.ok((ra as { at: number }).at - start < 1_500, 'and not long after');
});
