// The exec provider (issue 14): every read and write is one run of an operator-chosen adapter
// speaking JSON protocol v1 on stdin/stdout (examples/providers/README.md). Same shape as
// rfc2136/index.ts; the core computes the plan, the adapter only lists and applies.
import type { Rdata, RecordType } from '../../core/rdata.js';
import { rdataType, sameRdata } from '../../core/rdata.js';
import { DnsProtocolError } from '../../errors.js';
import { formatAbsoluteName } from '../../io/dns-wire.js';
import type { HostPort } from '../../io/host-port.js';
import { createResolver, type Resolver } from '../../io/resolver.js';
import { createLogger, type Logger } from '../../log.js';
import type { ApplyResult, DnsProvider, Plan, RRset } from '../types.js';
import { createZoneFinder, groupChangesByZone } from '../zones.js';
import type { ExecConfig } from './config.js';
import { formatExecData, parseExecData } from './data.js';
import { listReplySchema, okReplySchema, PROTOCOL_VERSION, type ExecRequest, type ListReply } from './protocol.js';
import { parseAdapterReply } from './reply.js';
import { runAdapter } from './run-adapter.js';

export interface ExecOptions {
  command: ExecConfig['command'];
  /** Per adapter run (dns.exec.timeout). */
  timeoutMs: number;
  /** Names of the variables passed on (dns.exec.env). */
  passEnv: string[];
  /** danehook's environment: only `passEnv` names are taken from it. */
  env: NodeJS.ProcessEnv;
  /** The primary's DNS address (dns.server): SOA lookups for names outside the configured zones. */
  server: HostPort;
  zones: string[];
  /** dns.timeout, for those SOA lookups. Default 5 s. */
  dnsTimeoutMs?: number;
  /** Where the adapter's stderr goes, a line at a time. Default: danehook's stderr log format. */
  log?: Logger;
  /** SIGTERM → SIGKILL grace after a timeout. Default 2 s. */
  killGraceMs?: number;
  /** Largest reply accepted. Default 16 MiB (3,000 TLSA records list in ~0.4 MiB). */
  maxReplyBytes?: number;
  resolver?: Resolver;
}

const MAX_STDERR_LOGGED = 64 * 1024;

export function createExecProvider(opts: ExecOptions): DnsProvider {
  const log = opts.log ?? createLogger('normal');
  const resolver = opts.resolver ?? createResolver({ timeoutMs: opts.dnsTimeoutMs ?? 5000 });
  // "/usr/bin/node /usr/share/…/nsupdate-adapter.mjs": an interpreter alone would not say which adapter.
  const [program, script] = opts.command;
  const adapter = script !== undefined && !script.startsWith('-') ? `${program} ${script}` : program!;
  // Only what the operator named, and nothing else — not even PATH (README: exec adapters).
  const env: Record<string, string> = {};
  for (const name of opts.passEnv) {
    const value = opts.env[name];
    if (value !== undefined) env[name] = value;
  }
  const identity = `exec adapter ${adapter}`;
  const capabilities = { atomicPerZone: true };
  // An adapter may say, in any ok reply, that it cannot apply a zone all-or-nothing: noted and said once.
  const noteAtomicity = (reply: { atomic?: boolean }) => {
    if (reply.atomic !== false || !capabilities.atomicPerZone) return;
    capabilities.atomicPerZone = false;
    log.warn(`${identity} cannot apply a zone's changes all-or-nothing: a failure part way may leave some applied (the next run re-reads DNS and converges)`);
  };

  async function call<T>(request: ExecRequest, schema: Parameters<typeof parseAdapterReply>[1], what: string): Promise<T> {
    const ctx = { what: `${identity} (${what})`, timeoutMs: opts.timeoutMs };
    const outcome = await runAdapter({
      command: opts.command,
      input: `${JSON.stringify(request)}\n`,
      env,
      timeoutMs: opts.timeoutMs,
      killGraceMs: opts.killGraceMs ?? 2000,
      maxStdoutBytes: opts.maxReplyBytes ?? 16 * 1024 * 1024,
      maxStderrBytes: MAX_STDERR_LOGGED,
      onStderrLine: (line) => log.info(`adapter ${request.op}: ${line}`),
    });
    return parseAdapterReply(outcome, schema, ctx) as T;
  }

  const findZone = createZoneFinder(opts.zones, (base) => resolver.queryZoneApex(opts.server, base));

  async function listRecords(names: string[], type: RecordType = 'TLSA'): Promise<Map<string, RRset>> {
    const unique = [...new Set(names.map(formatAbsoluteName))];
    if (unique.length === 0) return new Map();
    const reply = await call<ListReply>({ version: PROTOCOL_VERSION, op: 'list', type, names: unique }, listReplySchema, `list ${type}, ${unique.length} name(s)`);
    return checkListReply(reply, unique, type, identity);
  }

  async function apply(plan: Plan): Promise<ApplyResult> {
    const result: ApplyResult = { zones: [] };
    for (const [zone, list] of await groupChangesByZone(plan.changes, findZone)) {
      const request: ExecRequest = {
        version: PROTOCOL_VERSION,
        op: 'apply',
        zone,
        changes: list.map((c) => ({ op: c.op, name: c.name, ttl: c.ttl, type: rdataType(c.rdata), data: formatExecData(c.rdata) })),
      };
      noteAtomicity(await call<{ atomic?: boolean }>(request, okReplySchema, `apply ${list.length} change(s) to zone ${zone}`));
      result.zones.push({ zone, changes: list.length });
    }
    return result;
  }

  async function checkAccess(name: string): Promise<void> {
    const zone = await findZone(name);
    noteAtomicity(await call<{ atomic?: boolean }>({ version: PROTOCOL_VERSION, op: 'check', zone }, okReplySchema, `access check for zone ${zone}`));
  }

  return { name: 'exec', identity, capabilities, listRecords, apply, checkAccess, findZone };
}

/** A list reply must answer exactly what was asked: every name once, that type, parseable data. */
export function checkListReply(reply: ListReply, asked: string[], type: RecordType, who: string): Map<string, RRset> {
  const bad = (why: string) => new DnsProtocolError(`${who} replied to "list ${type}" with ${why}`);
  const out = new Map<string, RRset>();
  for (const rs of reply.rrsets) {
    const name = rs.name.toLowerCase();
    if (!asked.includes(name)) throw bad(`a name it was not asked for: ${JSON.stringify(rs.name)}${name.endsWith('.') ? '' : ' (names are absolute, with the trailing dot)'}`);
    if (out.has(name)) throw bad(`${name} twice`);
    if (rs.type !== type) throw bad(`type ${rs.type} for ${name}`);
    if ((rs.ttl === null) !== (rs.data.length === 0)) throw bad(`ttl ${rs.ttl} for ${name} with ${rs.data.length} record(s) (ttl is null exactly when there are none)`);
    const records: Rdata[] = [];
    for (const text of rs.data) {
      const rdata = parseExecData(type, text);
      if (!rdata) throw bad(`data that is not ${type} presentation form at ${name}: ${JSON.stringify(text.slice(0, 120))}`);
      if (records.some((r) => sameRdata(r, rdata))) throw bad(`the same record twice at ${name}: ${JSON.stringify(text.slice(0, 120))}`);
      records.push(rdata);
    }
    out.set(name, { name, ttl: rs.ttl, records });
  }
  const missing = asked.filter((n) => !out.has(n));
  if (missing.length) throw bad(`no rrset for ${missing.length} name(s), e.g. ${missing[0]} (give "data": [] and "ttl": null when there is none)`);
  return out;
}
