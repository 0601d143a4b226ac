// The DNS provider interface: providers only read and write records; the core computes the plan
// (as octoDNS and DNSControl do). Every provider has the same shape; see registry.ts.
import type { Rdata, RecordType } from '../core/rdata.js';

/** One change of a plan: add or remove a single record (TLSA or TXT). Names absolute, lowercase, trailing dot. */
export interface Change {
  op: 'create' | 'delete';
  name: string;
  ttl: number;
  rdata: Rdata;
}

/** A plan is data: it can be printed, and it is exactly what gets applied. */
export interface Plan {
  changes: Change[];
}

/** An RRset of one type as one server serves it; `records` empty when there is none (NODATA/NXDOMAIN). */
export interface RRset {
  name: string;
  ttl: number | null; // null when there are no records
  records: Rdata[];
}

export interface ProviderCapabilities {
  /** All changes for one zone are applied in one all-or-nothing transaction. */
  atomicPerZone: boolean;
}

export interface ApplyResult {
  /** Zones written, with the number of changes each got. */
  zones: { zone: string; changes: number }[];
}

export interface DnsProvider {
  readonly name: string;
  /** Who writes, for messages: 'TSIG key "k" at 192.0.2.1:53', 'PowerDNS API http://…'. Never a secret. */
  readonly identity: string;
  readonly capabilities: ProviderCapabilities;
  /** Current RRsets of `type` (default TLSA) at the primary, keyed by name. */
  listRecords(names: string[], type?: RecordType): Promise<Map<string, RRset>>;
  /** Apply a plan: one atomic write per zone. An empty plan writes nothing. */
  apply(plan: Plan): Promise<ApplyResult>;
  /**
   * Preflight: the server is reachable and accepts our credentials; writes nothing. May return
   * warnings about the zone's setup (e.g. PowerDNS without SOA-EDIT-API) that do not stop a write.
   */
  checkAccess(zoneOf: string): Promise<void | string[]>;
  /** The zone apex a name belongs to (absolute, trailing dot). */
  findZone(name: string): Promise<string>;
}
