import t from 'tap';
import { Guid } from '../../src/halibut/guid.js';
import { requestId, type RequestMessage } from '../../src/halibut/messages.js';
import {
  SCRIPT_STATE_COMPLETE,
  SCRIPT_STATE_RUNNING,
  TYPE_CAPABILITIES_RESPONSE_V2,
  TYPE_SCRIPT_STATUS_RESPONSE_V2,
  TYPE_SCRIPT_TICKET,
} from '../../src/halibut/constants.js';
import { EXIT_CODE_UNKNOWN_SCRIPT, TYPE_UPLOAD_RESULT, TentacleServices } from '../../src/tentacle/services.js';

function req(service: string, method: string, params: unknown[] = []): RequestMessage {
  return {
    id: requestId(service, method, 1),
    activityId: Guid.random(),
    endpoint: {
      BaseUri: 'poll://abc/', RemoteThumbprint: null, PollingRequestQueueTimeout: '00:02:00',
      RetryListeningSleepInterval: '00:00:01', RetryCountLimit: 5, ConnectionErrorRetryTimeout: '00:05:00',
      TcpClientConnectTimeout: '00:01:00', Proxy: null, ForceResolveHost: null,
    },
    service,
    method,
    params,
  };
}

t.test('GetCapabilities, by sync or async name, any case', async (t) => {
  const s = new TentacleServices({ scriptRunMs: 100 });
  for (const method of ['GetCapabilities', 'GetCapabilitiesAsync', 'getcapabilities']) {
    const r = req('ICapabilitiesServiceV2', method);
    const res = s.handle(r);
    t.equal(res.id, r.id, 'id echoed');
    t.equal(res.error, null);
    t.same(res.result, { $type: TYPE_CAPABILITIES_RESPONSE_V2, SupportedCapabilities: ['IScriptService', 'IFileTransferService', 'IScriptServiceV2'] });
  }
});

t.test('unknown service and method get Halibut error responses', async (t) => {
  const s = new TentacleServices({ scriptRunMs: 100 });
  const a = s.handle(req('IFooService', 'Bar'));
  t.equal(a.error?.HalibutErrorType, 'Halibut.Exceptions.ServiceNotFoundHalibutClientException');
  t.match(a.error?.message, /IFooService/);
  const b = s.handle(req('IScriptServiceV2', 'Explode'));
  t.equal(b.error?.HalibutErrorType, 'Halibut.Exceptions.MethodNotFoundHalibutClientException');
  t.match(b.error?.message, /Explode/);
  const c = s.handle(req('IScriptServiceV2', 'GetStatus', [null]));
  t.equal(c.error?.HalibutErrorType, 'Halibut.Exceptions.ServiceInvocationHalibutClientException', 'a malformed call is an invocation error');
});

t.test('script: Running until scriptRunMs has passed, then Complete with exit 0 and one log line', async (t) => {
  let clock = 1_000;
  const s = new TentacleServices({ scriptRunMs: 200, clock: () => clock });
  const ticket = { $type: TYPE_SCRIPT_TICKET, TaskId: 'ScriptTicket-1' };
  const started = s.handle(req('IScriptServiceV2', 'StartScript', [{ TaskId: 'ServerTasks-9', ScriptTicket: ticket, ScriptBody: 'echo hi' }]));
  t.match(started.result, { $type: TYPE_SCRIPT_STATUS_RESPONSE_V2, Ticket: { $type: TYPE_SCRIPT_TICKET, TaskId: 'ScriptTicket-1' }, State: SCRIPT_STATE_RUNNING, ExitCode: 0, NextLogSequence: 0n });
  clock += 150;
  const running = s.handle(req('IScriptServiceV2', 'GetStatus', [{ Ticket: ticket, LastLogSequence: 0n }])).result as Record<string, unknown>;
  t.equal(running['State'], SCRIPT_STATE_RUNNING);
  clock += 60;
  const done = s.handle(req('IScriptServiceV2', 'GetStatus', [{ Ticket: ticket, LastLogSequence: 0n }])).result as Record<string, unknown>;
  t.equal(done['State'], SCRIPT_STATE_COMPLETE);
  t.equal(done['ExitCode'], 0);
  t.equal(done['NextLogSequence'], 1n);
  const logs = done['Logs'] as { Source: number; Occurred: Date; Text: string }[];
  t.equal(logs.length, 1);
  t.ok(logs[0]!.Occurred instanceof Date);
  t.equal(logs[0]!.Source, 0);
  const again = s.handle(req('IScriptServiceV2', 'GetStatus', [{ Ticket: ticket, LastLogSequence: 1n }])).result as Record<string, unknown>;
  t.same(again['Logs'], [], 'no log line repeated after NextLogSequence');
  t.equal(s.activeScripts, 1);
  const completed = s.handle(req('IScriptServiceV2', 'CompleteScript', [{ Ticket: ticket, LastLogSequence: 1n }]));
  t.equal(completed.error, null);
  t.equal(completed.result, null);
  t.equal(s.activeScripts, 0, 'CompleteScript forgets the script');
  const unknown = s.handle(req('IScriptServiceV2', 'GetStatus', [{ Ticket: ticket, LastLogSequence: 1n }])).result as Record<string, unknown>;
  t.equal(unknown['ExitCode'], EXIT_CODE_UNKNOWN_SCRIPT);
});

t.test('CancelScript completes the script with the canceled exit code', async (t) => {
  const s = new TentacleServices({ scriptRunMs: 60_000, clock: () => 0 });
  const ticket = { TaskId: 'ScriptTicket-2' };
  s.handle(req('IScriptServiceV2', 'StartScript', [{ ScriptTicket: ticket }]));
  const r = s.handle(req('IScriptServiceV2', 'CancelScript', [{ Ticket: ticket, LastLogSequence: 0n }])).result as Record<string, unknown>;
  t.equal(r['State'], SCRIPT_STATE_COMPLETE);
  t.equal(r['ExitCode'], -43);
});

t.test('a script body `sleep N` runs N seconds; anything else runs scriptRunMs', async (t) => {
  let clock = 0;
  const s = new TentacleServices({ scriptRunMs: 100, clock: () => clock });
  const ticket = { TaskId: 'ScriptTicket-3' };
  s.handle(req('IScriptServiceV2', 'StartScript', [{ ScriptTicket: ticket, ScriptBody: 'sleep 2.5' }]));
  clock = 2_400;
  const status = () => (s.handle(req('IScriptServiceV2', 'GetStatus', [{ Ticket: ticket, LastLogSequence: 0n }])).result as Record<string, unknown>)['State'];
  t.equal(status(), SCRIPT_STATE_RUNNING, 'still running at 2.4 s');
  clock = 2_500;
  t.equal(status(), SCRIPT_STATE_COMPLETE, 'complete at 2.5 s');
});

t.test('UploadFile answers an UploadResult with the streamed hash and length; DownloadFile of a missing file is null', async (t) => {
  const s = new TentacleServices({ scriptRunMs: 100 });
  const id = Guid.random();
  const r = s.handleWithStreams(
    req('IFileTransferService', 'UploadFile', ['Files/pkg.nupkg', { $type: 'Halibut.DataStream, Halibut', id, length: 5n }]),
    [{ id, length: 5n, sha256: 'ab'.repeat(32) }],
  );
  t.equal(r.response.error, null);
  t.same(r.response.result, { $type: TYPE_UPLOAD_RESULT, FullPath: '/etc/octopus/Tentacle/Files/pkg.nupkg', Hash: 'ab'.repeat(32), Length: 5n });
  t.same(s.uploads, [{ path: '/etc/octopus/Tentacle/Files/pkg.nupkg', length: 5n, sha256: 'ab'.repeat(32) }]);
  const missing = s.handle(req('IFileTransferService', 'UploadFile', ['x', { id: Guid.random(), length: 1n }]));
  t.equal(missing.error?.HalibutErrorType, 'Halibut.Exceptions.ServiceInvocationHalibutClientException', 'a stream that did not arrive is an invocation error');
  t.equal(s.handle(req('IFileTransferService', 'DownloadFile', ['nope.txt'])).result, null);
  const d = s.handleWithStreams(req('IFileTransferService', 'downloadfile', ['synthetic/1000']), []);
  t.equal(d.streams.length, 1);
  t.match(d.response.result, { $type: 'Halibut.DataStream, Halibut', length: 1000n });
});
