// What every check of one `danehook check` run shares: the read-only session, the warning
// horizon, the clock, and where findings and measurements are collected.
import type { ValidatedAnswer } from '../io/resolver.js';
import type { Session } from '../rollover/session.js';
import type { Finding } from './finding.js';
import type { Measurements } from './prometheus.js';

export interface CheckContext {
  s: Session;
  /** --warn-days in ms: an RRSIG or a certificate expiring sooner is a WARNING. */
  warnMs: number;
  /** A live certificate expiring sooner, with no renewal pending, is a WARNING. */
  certificateWarnMs: number;
  now: Date;
  findings: Finding[];
  m: Measurements;
  /** The DS answer per zone, asked once per run however many entries share the zone. */
  dsByZone: Map<string, Promise<ValidatedAnswer>>;
}

export const describeDays = (ms: number): string => `${(ms / 86_400_000).toFixed(1)} d`;
