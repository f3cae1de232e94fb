import t from 'tap';
import { PollfleetError, errorDataOf } from '../../src/core/errors.js';
import { HalibutError } from '../../src/halibut/halibut-error.js';
import { parseIdentity } from '../../src/halibut/identity.js';

// Errors carry what they are about as fields; nobody parses it back out of the message.

t.test('PollfleetError keeps its data fields; data lists only those set', async (t) => {
  const e = new PollfleetError('tls.thumbprint-mismatch', 'unexpected certificate', {
    expectedThumbprint: 'A'.repeat(40), presentedThumbprint: 'B'.repeat(40), address: '10.0.0.5:10943', hint: 'h',
  });
  t.equal(e.expectedThumbprint, 'A'.repeat(40));
  t.equal(e.status, undefined);
  t.same(e.data, { expectedThumbprint: 'A'.repeat(40), presentedThumbprint: 'B'.repeat(40), address: '10.0.0.5:10943' });
  t.same(new PollfleetError('api.error', 'x', { status: 404, node: 'node2' }).data, { status: 404, node: 'node2' });
  t.same(new PollfleetError('internal', 'x').data, {});
});

t.test('errorDataOf reads any error or flat event, keeping only well-typed fields', async (t) => {
  t.same(errorDataOf(structuredClone({ status: 503, address: 'x', node: '', extra: 1 })), { status: 503, address: 'x' });
  t.same(errorDataOf({ status: '503' }), {}, 'a status that is not a number is not data');
  t.same(errorDataOf(null), {});
  t.same(errorDataOf(new Error('HTTP 404')), {}, 'never from the message');
});

t.test('an HTTP status line instead of an identity: the status is a field of the protocol error', async (t) => {
  let e: unknown;
  try {
    parseIdentity('HTTP/1.1 502 Bad Gateway');
  } catch (x) {
    e = x;
  }
  t.type(e, HalibutError);
  t.equal((e as HalibutError).kind, 'protocol.http-response');
  t.equal((e as HalibutError).status, 502);
  t.same(errorDataOf(e), { status: 502 });
  t.throws(() => parseIdentity('HTTP/1.0'), { name: 'HalibutError' }, 'a status line without a status is still an HTTP response');
});
