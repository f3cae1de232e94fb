import t from 'tap';
import { SUBSCRIPTION_ALPHABET } from '../../src/halibut/constants.js';
import { isGeneratedSubscriptionId, isSubscriptionId, newSubscriptionId } from '../../src/halibut/subscription.js';

t.test('subscription ids: poll:// + 20 chars of the alphabet, lower-cased, + /', async (t) => {
  t.equal(SUBSCRIPTION_ALPHABET, 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789');
  const seen = new Set<string>();
  const used = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const id = newSubscriptionId();
    seen.add(id);
    const m = /^poll:\/\/([a-z0-9]{20})\/$/.exec(id);
    if (!m) {
      t.fail(`malformed id ${id}`);
      continue;
    }
    for (const c of m[1]!) used.add(c);
    if (!isGeneratedSubscriptionId(id) || !isSubscriptionId(id)) t.fail(`not recognised: ${id}`);
  }
  t.equal(seen.size, 500, 'no repeats in 500 ids');
  const allowed = new Set(SUBSCRIPTION_ALPHABET.toLowerCase());
  t.same([...used].filter((c) => !allowed.has(c)), [], 'only alphabet characters (no i, no o, no 0, no 1)');
  t.equal(used.size, 32, 'every one of the 32 characters turns up');
  t.ok(isGeneratedSubscriptionId('poll://g3662re9njtelsyfhm7t/'), 'the reference example');
  t.notOk(isGeneratedSubscriptionId('poll://g3662re9njtelsyfhm7/'), '19 chars');
  t.notOk(isGeneratedSubscriptionId('poll://g3662re9njtelsyfhm7o/'), 'contains o');
  t.notOk(isGeneratedSubscriptionId('poll://G3662RE9NJTELSYFHM7T/'), 'upper case is not the generated form');
  t.ok(isSubscriptionId('poll://my-tentacle.example/'), 'any poll:// host is a subscription URI');
  t.notOk(isSubscriptionId('https://g3662re9njtelsyfhm7t/'));
  t.notOk(isSubscriptionId('poll://g3662re9njtelsyfhm7t'), 'the trailing / is required');
});
