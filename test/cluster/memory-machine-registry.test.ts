import t from 'tap';
import { MemoryRegistry } from '../../src/cluster/memory-machine-registry.js';
import type { NewMachine } from '../../src/cluster/machine-registry.js';

const TP = 'AB'.repeat(20);

function machine(name: string, o: Partial<NewMachine> = {}): NewMachine {
  return {
    name, spaceId: 'Spaces-1', environmentIds: ['Environments-1'], roles: ['web'],
    thumbprint: TP, subscriptionId: `poll://${name.padEnd(20, 'x').slice(0, 20)}/`, ...o,
  };
}

t.test('ids count up and machines can be read, listed and deleted', async (t) => {
  const r = new MemoryRegistry();
  const a = await r.register(machine('a'));
  const b = await r.register(machine('b', { thumbprint: 'cd'.repeat(20) }));
  t.equal(a.id, 'Machines-1');
  t.equal(b.id, 'Machines-2');
  t.equal(b.thumbprint, 'CD'.repeat(20), 'thumbprints are stored upper-case');
  t.ok(a.createdAt.length > 0);
  t.equal(r.get('Spaces-1', 'Machines-2')?.name, 'b');
  t.equal(r.get('Spaces-2', 'Machines-2'), undefined, 'another space does not see it');
  t.same(r.list('Spaces-1').map((m) => m.id), ['Machines-1', 'Machines-2']);
  t.equal([...r.subscriptions()].length, 2);
  t.equal(await r.delete('Spaces-1', 'Machines-1'), true);
  t.equal(await r.delete('Spaces-1', 'Machines-1'), false);
  const c = await r.register(machine('c'));
  t.equal(c.id, 'Machines-3', 'ids are never reused');
});

t.test('a duplicate name in a space is rejected with a clear message', async (t) => {
  const r = new MemoryRegistry();
  await r.register(machine('web-01'));
  await t.rejects(r.register(machine('WEB-01')), /already exists in Spaces-1/);
  await t.resolves(r.register(machine('web-01', { spaceId: 'Spaces-2' })), 'the same name in another space is fine');
});

t.test('trust is case-insensitive and follows registration and deletion', async (t) => {
  const r = new MemoryRegistry();
  t.equal(r.isTrusted(TP), false);
  const a = await r.register(machine('a'));
  await r.register(machine('b'));
  t.equal(r.isTrusted(TP.toLowerCase()), true);
  await r.delete('Spaces-1', a.id);
  t.equal(r.isTrusted(TP), true, 'still trusted while another machine uses the thumbprint');
  await r.delete('Spaces-1', 'Machines-2');
  t.equal(r.isTrusted(TP), false);
});
