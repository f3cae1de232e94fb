import t from 'tap';
import { parseServerAddress, serverEntry } from '../../src/tentacle/server-entry.js';

t.test('accepted address forms', async (t) => {
  const cases: [string, string, number][] = [
    ['10.0.0.5:10943', '10.0.0.5', 10943],
    ['https://10.0.0.5:10943', '10.0.0.5', 10943],
    ['https://octopus1.example.com:10944/', 'octopus1.example.com', 10944],
    ['HTTPS://Node-2.local:10943', 'node-2.local', 10943],
    ['[::1]:10943', '::1', 10943],
    ['https://[2001:db8::5]:10943', '2001:db8::5', 10943],
    ['  octopus:10943  ', 'octopus', 10943],
  ];
  for (const [text, host, port] of cases) {
    const p = parseServerAddress(text);
    t.equal(p.host, host, `${text} host`);
    t.equal(p.port, port, `${text} port`);
    t.equal(p.address, text.trim(), `${text} keeps the address as configured`);
  }
});

t.test('rejected address forms name what is wrong', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['octopus', /no port/],
    ['https://octopus', /no port/],
    ['octopus:0', /between 1 and 65535/],
    ['octopus:70000', /between 1 and 65535/],
    ['http://octopus:10943', /always TLS/],
    ['ws://octopus:80/OctopusComms', /always TLS/],
    ['wss://octopus:0/OctopusComms', /between 1 and 65535/],
    ['::1', /brackets/],
    ['[octopus]:10943', /not an IPv6/],
    ['https://octopus:10943/api', /unexpected path/],
    ['a b:10943', /not host:port/],
  ];
  for (const [text, re] of cases) {
    t.throws(() => parseServerAddress(text), { kind: 'input.invalid', message: re }, JSON.stringify(text));
    try {
      parseServerAddress(text);
    } catch (e) {
      t.match((e as Error).message, JSON.stringify(text), 'the message quotes the input');
    }
  }
});

t.test('serverEntry checks the thumbprint', async (t) => {
  const tp = '77751F90F9EEDCEE0C0CD84F7A3CC726AD123FA6';
  t.same(serverEntry('https://n1:10943', tp, 'node1'), { address: 'https://n1:10943', host: 'n1', port: 10943, thumbprint: tp, name: 'node1' });
  t.equal(serverEntry('n1:10943', tp.toLowerCase()).thumbprint, tp.toLowerCase(), 'kept as configured (Tentacle compares exactly)');
  t.throws(() => serverEntry('n1:10943', 'abc'), { kind: 'input.invalid', message: /40 hex/ });
});
