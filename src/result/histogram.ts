import * as hdr from 'hdr-histogram-js';
import { METRICS_DEFAULTS } from '../scenario/defaults.js';
import type { Quantiles } from './result.js';

/**
 * An HDR histogram of durations recorded in MICROseconds (3 significant digits, up to an
 * hour), summarised in milliseconds. Encoded (compressed, base64) inside every `Quantiles`
 * of a Result, so Results can be merged exactly: `new DurationHistogram(q.histogram)`
 * decodes one, `merge` adds another, `quantiles()` summarises and re-encodes. Percentiles
 * and the mean come from the buckets and survive encoding; min and max are the exact values
 * recorded, which a decoded histogram only knows to its bucket (src/result/merge.ts keeps
 * them from the figures).
 */
export class DurationHistogram {
  readonly h: hdr.Histogram;

  constructor(from?: string) {
    this.h = from
      ? hdr.decodeFromCompressedBase64(from)
      : hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: METRICS_DEFAULTS.histogramMaxUs, numberOfSignificantValueDigits: 3 });
  }

  recordMs(ms: number): void {
    const us = Math.max(1, Math.min(METRICS_DEFAULTS.histogramMaxUs, Math.round(ms * 1000)));
    this.h.recordValue(us);
  }

  get count(): number {
    return this.h.totalCount;
  }

  merge(other: DurationHistogram): void {
    this.h.add(other.h);
  }

  encode(): string | null {
    return this.h.totalCount ? hdr.encodeIntoCompressedBase64(this.h) : null;
  }

  quantiles(): Quantiles {
    const n = this.h.totalCount;
    if (!n) return emptyQuantiles();
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: n,
      min: ms(this.h.minNonZeroValue),
      p50: ms(this.h.getValueAtPercentile(50)),
      p90: ms(this.h.getValueAtPercentile(90)),
      p99: ms(this.h.getValueAtPercentile(99)),
      max: ms(this.h.maxValue),
      mean: Math.round(this.h.mean) / 1000,
      histogram: this.encode(),
    };
  }
}

export function emptyQuantiles(): Quantiles {
  return { count: 0, min: null, p50: null, p90: null, p99: null, max: null, mean: null, histogram: null };
}
