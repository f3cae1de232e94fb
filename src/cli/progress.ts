import type { RunProgress } from '../run/run-scenario.js';
import { RUN_DEFAULTS } from '../scenario/defaults.js';
import { formatClock, formatPct } from '../core/format.js';

/**
 * Progress of a run: a live status line on a TTY, a plain line every few seconds otherwise,
 * nothing with --quiet. Only a listener: it never touches the run.
 */
export function progressPrinter(stream: NodeJS.WriteStream, mode: 'tty' | 'lines' | 'off', label = ''): { update(p: RunProgress): void; done(): void } {
  let last = 0;
  let drawn = false;
  const text = (p: RunProgress) => {
    const pt = p.point;
    return (
      `${label}${formatClock(p.elapsedMs)}/${formatClock(p.totalMs)} ${p.phase.padEnd(8)} ` +
      `tentacles ${p.started}/${p.tentacles} | coverage ${formatPct(pt.coverage)} | ` +
      `polls/s ${pt.polls} | handshakes/s ${pt.handshakes} | errors ${pt.errors}`
    );
  };
  return {
    update(p) {
      if (mode === 'off') return;
      if (mode === 'tty') {
        stream.write(`\r\u001b[2K${text(p)}`);
        drawn = true;
        return;
      }
      if (p.elapsedMs - last >= RUN_DEFAULTS.progressIntervalMs) {
        last = p.elapsedMs;
        stream.write(`${text(p)}\n`);
      }
    },
    done() {
      if (drawn) stream.write('\r\u001b[2K');
      drawn = false;
    },
  };
}
