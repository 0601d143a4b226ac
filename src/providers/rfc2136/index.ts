// The RFC 2136 provider: reads TLSA RRsets from the primary, writes them with TSIG-signed
// UPDATEs (one per zone when it fits in 64 KiB), and checks access with an empty UPDATE.
import { randomInt } from 'node:crypto';
import type { TsigKey } from '../../config/tsig-key.js';
import type { Rdata, RecordType } from '../../core/rdata.js';
import { DnsProtocolError } from '../../errors.js';
import { formatAbsoluteName, MAX_TCP_MESSAGE } from '../../io/dns-wire.js';
import { formatHostPort, type HostPort } from '../../io/host-port.js';
import { createResolver, type Resolver } from '../../io/resolver.js';
import type { ApplyResult, DnsProvider, Plan, RRset } from '../types.js';
import { createZoneFinder, groupChangesByZone } from '../zones.js';
import { formatUpdateMessage, type UpdateMessage } from './message.js';
import { applyToSnapshot, computeUpdateMessages, snapshotKey } from './split.js';
import { sendSignedUpdate } from './transport.js';
import { computeTsigRecordSize } from './tsig.js';

export interface Rfc2136Options {
  server: HostPort;
  key: TsigKey;
  timeoutMs: number;
  retries?: number;
  now?: () => number;
  /** Largest signed message; tests lower it to exercise splitting. Default 65535. */
  maxMessageBytes?: number;
  resolver?: Resolver;
  /** Zones known from the config (dns.zone): a name inside one needs no SOA lookup. */
  zones?: string[];
}

export function createRfc2136Provider(opts: Rfc2136Options): DnsProvider {
  const now = opts.now ?? Date.now;
  const retries = opts.retries ?? 2;
  const resolver = opts.resolver ?? createResolver({ timeoutMs: opts.timeoutMs, retries });
  const maxUnsigned = (opts.maxMessageBytes ?? MAX_TCP_MESSAGE) - computeTsigRecordSize(opts.key);
  // What listRecords last returned per name: the prerequisites of apply() (see split.ts).
  const snapshot = new Map<string, Rdata[]>();
  const findZone = createZoneFinder(opts.zones ?? [], (base) => resolver.queryZoneApex(opts.server, base));

  async function listRecords(names: string[], type: RecordType = 'TLSA'): Promise<Map<string, RRset>> {
    const unique = [...new Set(names.map(formatAbsoluteName))];
    const answers = await Promise.all(unique.map((n) => resolver.queryRRset(opts.server, n, type)));
    const out = new Map<string, RRset>();
    for (const { rrset, authoritative } of answers) {
      if (!authoritative) throw new DnsProtocolError(`${opts.server.host}:${opts.server.port} is not authoritative for ${rrset.name}`, { hint: 'dns.server must be the primary of the zone' });
      out.set(rrset.name, rrset);
      snapshot.set(snapshotKey(rrset.name, type), rrset.records);
    }
    return out;
  }

  function sendUpdate(m: UpdateMessage, what: string): Promise<Buffer> {
    const id = randomInt(0x10000);
    let unsigned: Buffer;
    if (m.wire) {
      unsigned = Buffer.from(m.wire);
      unsigned.writeUInt16BE(id, 0); // the ID is the first header field (RFC 1035 §4.1.1)
    } else {
      unsigned = formatUpdateMessage({ ...m, id });
    }
    return sendSignedUpdate(opts.server, opts.key, unsigned, { timeoutMs: opts.timeoutMs, retries, now, what });
  }

  async function apply(plan: Plan): Promise<ApplyResult> {
    const result: ApplyResult = { zones: [] };
    for (const [zone, changes] of await groupChangesByZone(plan.changes, findZone)) {
      const messages = computeUpdateMessages(zone, changes, snapshot, maxUnsigned);
      for (const [i, m] of messages.entries()) {
        const part = messages.length > 1 ? ` (message ${i + 1} of ${messages.length})` : '';
        await sendUpdate(m, `UPDATE of zone ${zone}${part}`);
        applyToSnapshot(snapshot, m.updates);
      }
      result.zones.push({ zone, changes: changes.length });
    }
    return result;
  }

  async function checkAccess(name: string): Promise<void> {
    const zone = await findZone(name);
    // An UPDATE with no prerequisites and no updates changes nothing; a NOERROR signed with our
    // key proves the server is reachable, authoritative and accepts the key (FACTS.md).
    await sendUpdate({ id: 0, zone, prerequisites: [], updates: [] }, `access check (empty UPDATE) for zone ${zone}`);
  }

  return { name: 'rfc2136', identity: `TSIG key "${opts.key.name}" at ${formatHostPort(opts.server)}`, capabilities: { atomicPerZone: true }, listRecords, apply, checkAccess, findZone };
}
