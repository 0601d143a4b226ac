// What a kind of credential (TLS certificate, DKIM key; later perhaps SSH host key) supplies to
// the one rollover core: its record type and owner names, the wait before activation, how to
// activate and recover, and what must hold before stale records go. Everything else is shared.
import type { DnsRecord, RecordType } from '../core/rdata.js';
import type { Rollover } from '../core/state.js';
import type { StepResult } from '../rollover/step.js';
import type { Session } from '../rollover/session.js';

export interface CredentialKind {
  readonly name: 'tls' | 'dkim';
  readonly recordType: RecordType;
  /** Owner names the entry manages now: never left empty by a cleanup. */
  ownerNames(s: Session, id: string): string[];
  /** Before a rollover's records are published (TLS: the live certificate must be positively known). */
  beforePublish(s: Session, id: string, r: Rollover): Promise<void>;
  /**
   * The TTL activation waits out, given the largest TTL of the RRsets the records joined (null:
   * none existed). TLS: that one (none: nothing cached can contradict). DKIM: the records' own TTL
   * as well — a verifier may have cached "no such selector" (RFC 2308) or will cache the new one.
   */
  waitTtl(replacedTtl: number | null, records: DnsRecord[]): number | null;
  activate(s: Session, id: string, r: Rollover): Promise<StepResult>;
  /** A run died mid-activation: put the previous credential back, then activate afresh. */
  recoverActivation(s: Session, id: string, r: Rollover): Promise<StepResult>;
  /** Before stale records go: a reason to postpone (e.g. an endpoint still presents the old certificate), or undefined. */
  checkBeforeCleanup(s: Session, id: string, r: Rollover, remaining: DnsRecord[]): Promise<string | undefined>;
  /** Records to put in place of the stale ones (DKIM `retire: revoke`: an empty p=, RFC 6376 §3.6.1). */
  replacementsFor(s: Session, id: string, stale: DnsRecord[]): DnsRecord[];
}
