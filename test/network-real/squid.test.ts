import t from 'tap';
import * as net from 'node:net';
import { md5Crypt, renderSquidConfig, startSquid } from '../../src/network/real/squid.js';
import { connectRequest } from '../../src/tentacle/proxy-tunnel.js';
import { testNeeding } from '../helpers/system-binary.js';

t.test('md5Crypt matches crypt(3) / openssl passwd -1', async (t) => {
  // Vectors from `openssl passwd -1 -salt <salt> <password>`.
  t.equal(md5Crypt('pw-secret', 'abcdefgh'), '$1$abcdefgh$PoKpgrN075N5ds12rTC3Y0');
  t.equal(md5Crypt('a-much-longer-password-than-sixteen', 'ab'), '$1$ab$X2a5H17xgYTVLX0ABd7TI0');
});

t.test('the generated squid.conf: loopback, CONNECT to node ports only, denied ports first, auth when asked', async (t) => {
  const conf = renderSquidConfig({ workDir: '/run/x/squid', listenHost: '127.0.0.1', port: 3128, allowPorts: [10943, 8080, 10943], denyPorts: [10943], auth: { username: 'u', password: 'never-in-config' } });
  t.match(conf, /^http_port 127\.0\.0\.1:3128$/m);
  t.match(conf, /^acl node_ports port 10943 8080$/m);
  t.match(conf, /acl denied_ports port 10943\nhttp_access deny CONNECT denied_ports\nhttp_access deny CONNECT !node_ports/);
  t.match(conf, /^auth_param basic program \/usr\/lib\/squid\/basic_ncsa_auth \/run\/x\/squid\/passwords$/m);
  t.match(conf, /http_access deny !authenticated\nhttp_access allow localhost\nhttp_access deny all/);
  t.notOk(conf.includes('never-in-config'), 'no password in the configuration');
  t.notMatch(renderSquidConfig({ workDir: '/w', listenHost: '127.0.0.1', port: 1, allowPorts: [1], denyPorts: [], auth: null }), /auth_param|denied_ports/);
});

function statusThrough(proxyPort: number, port: number, auth?: { username: string; password: string }): Promise<number> {
  return new Promise((ok, fail) => {
    const s = net.connect(proxyPort, '127.0.0.1', () => s.write(connectRequest({ host: '127.0.0.1', port }, { host: '127.0.0.1', port: proxyPort, ...auth })));
    s.once('error', fail);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) {
        s.destroy();
        ok(Number(buf.split(' ')[1]));
      }
    });
  });
}

testNeeding(t, 'squid', 'apt-get install squid', 'real squid: 200 to an allowed port with credentials, 407 without, 403 to a denied or unlisted port', async (t) => {
  const node = net.createServer((s) => s.on('error', () => undefined).end());
  await new Promise<void>((ok) => node.listen(0, '127.0.0.1', ok));
  t.teardown(() => new Promise<void>((ok) => node.close(() => ok())));
  const nodePort = (node.address() as net.AddressInfo).port;
  const dir = t.testdir({});
  const auth = { username: 'tentacle', password: 'sq-pw-0815' };
  const squid = await startSquid({ workDir: `${dir}/squid`, listenHost: '127.0.0.1', port: 0, allowPorts: [nodePort, 1], denyPorts: [1], auth });
  t.teardown(() => squid.stop());
  t.equal(await statusThrough(squid.port, nodePort, auth), 200, 'allowed port with credentials');
  t.equal(await statusThrough(squid.port, nodePort), 407, 'no credentials');
  t.equal(await statusThrough(squid.port, nodePort, { username: 'tentacle', password: 'wrong' }), 407, 'wrong password');
  t.equal(await statusThrough(squid.port, 1, auth), 403, 'denied port');
  t.equal(await statusThrough(squid.port, 2, auth), 403, 'a port that is not a node port');
  await squid.stop();
  t.equal(await new Promise<boolean>((ok) => {
    const s = net.connect(squid.port, '127.0.0.1', () => (s.destroy(), ok(true)));
    s.once('error', () => ok(false));
  }), false, 'stopped: the port is closed');
});

t.test('squid not installed: environment.failed (exit 2) with the apt-get line', async (t) => {
  const { findBinary } = await import('../../src/network/real/find-binary.js');
  const { exitCodeForError } = await import('../../src/core/errors.js');
  const e = (() => {
    try {
      findBinary('squid', { searchPath: '', extraDirs: [] });
      return null;
    } catch (x) {
      return x;
    }
  })();
  t.match(e, { kind: 'environment.failed', hint: 'install it: apt-get install squid' });
  t.equal(exitCodeForError(e), 2);
});
