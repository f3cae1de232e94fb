import t from 'tap';
import { PollfleetError } from '../../src/core/errors.js';
import { scenarioFromObject } from '../../src/scenario/loader.js';

function problems(raw: Record<string, unknown>): string {
  try {
    scenarioFromObject(raw, 'flags');
  } catch (e) {
    if (e instanceof PollfleetError) return e.message;
    throw e;
  }
  return '';
}

t.test('the fixed scenario shape import-config writes resolves', async (t) => {
  const s = scenarioFromObject({
    route: {
      kind: 'proxy',
      proxy: { url: 'http://127.0.0.1:3128', username: 'svc-tentacle', passwordEnv: 'POLLFLEET_PROXY_PASSWORD' },
      registrationProxy: { url: 'http://127.0.0.1:8080' },
    },
  });
  t.match(s.route.proxy, { program: 'none', host: '127.0.0.1', port: 3128, username: 'svc-tentacle', passwordEnv: 'POLLFLEET_PROXY_PASSWORD', registration: { host: '127.0.0.1', port: 8080, username: null } });
  const d = scenarioFromObject({ route: { kind: 'proxy' } });
  t.match(d.route.proxy, { program: 'simulator', host: '127.0.0.1', port: 0, registration: 'same', denyPorts: [], requireAuth: false, inspectTls: false, cutTunnelsAfterMs: 0 });
  t.match(scenarioFromObject({ route: { kind: 'proxy', proxy: { program: 'squid', denyPorts: [10943, 'polling'] }, registrationProxy: 'direct' } }).route.proxy, { program: 'squid', denyPorts: [10943, 'polling'], registration: 'direct' });
  t.match(scenarioFromObject({ route: { kind: 'proxy', proxy: { cutTunnelsAfter: '2s' } } }).route.proxy, { cutTunnelsAfterMs: 2000 });
});

t.test('what cannot work is rejected with its path', async (t) => {
  t.match(problems({ route: { kind: 'direct', proxy: { program: 'simulator' } } }), /route\.proxy: only used with route kind proxy/);
  t.match(problems({ route: { kind: 'direct', registrationProxy: 'same' } }), /route\.registrationProxy: only used with route kind proxy/);
  t.match(problems({ route: { kind: 'proxy', proxy: { program: 'none' } } }), /route\.proxy\.url: program none uses a proxy you run/);
  t.match(problems({ route: { kind: 'proxy', proxy: { program: 'squid', url: 'http://10.0.0.5:3128' } } }), /route\.proxy\.url: pollfleet starts squid on loopback only/);
  t.match(problems({ route: { kind: 'proxy', proxy: { program: 'squid', inspectTls: true } } }), /route\.proxy\.inspectTls: only the simulator inspects TLS/);
  t.match(problems({ route: { kind: 'proxy', proxy: { program: 'squid', cutTunnelsAfter: '1s' } } }), /route\.proxy\.cutTunnelsAfter: only the simulator/);
  t.match(problems({ route: { kind: 'proxy', proxy: { program: 'squid', requireAuth: true } } }), /route\.proxy\.username: Squid with requireAuth needs the username/);
  t.match(problems({ route: { kind: 'proxy', proxy: { passwordEnv: 'X' } } }), /route\.proxy\.username: passwordEnv needs a username/);
  t.match(problems({ route: { kind: 'proxy', proxy: { url: 'http://user:pw@127.0.0.1:3128' } } }), /credentials go in username and passwordEnv/);
  t.match(problems({ route: { kind: 'proxy', proxy: { url: 'http://127.0.0.1:3128', denyPorts: [1] } } }), /denyPorts and requireAuth shape a proxy pollfleet starts/);
});
