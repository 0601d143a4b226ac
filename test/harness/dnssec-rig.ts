// A DNSSEC chain of trust on loopback, all real: a signed parent zone `test.` on its own BIND
// holding the delegation of `example.test` (and, as asked, a DS for it), the child on a BIND
// primary + secondary — inline-signed with a chosen RRSIG validity, or unsigned — and a validating
// Unbound whose only trust anchor is the parent's KSK, so the child validates only through the DS.
// Every scenario is checked by tools that are not danehook (dig +dnssec, delv, Unbound's AD bit).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';
import { startBind, type BindHandle } from './bind.js';
import { dig, rdataOf, type Endpoint } from './dns.js';
import type { HarnessContext } from './tempdir.js';
import { startUnbound, type UnboundHandle } from './unbound.js';

const run = promisify(execFile);

export const PARENT = 'test.';
export const CHILD = 'example.test.';

export interface DnssecRigOptions {
  /** The child zone is inline-signed (default) or served unsigned. */
  signed?: boolean;
  /**
   * What the parent holds for the child: `match` a DS of the child's KSK (default when signed),
   * `none` the delegation only (default when unsigned: an island of trust, "insecure"), `bogus` a
   * DS whose digest matches no key of the child (validation fails: SERVFAIL).
   */
  ds?: 'match' | 'none' | 'bogus';
  /** RRSIG validity of the child, seconds (BIND signatures-validity); BIND's default policy (14 d) otherwise. */
  signaturesValidity?: number;
  /** The child's zone TTL ($TTL, SOA minimum). Default 30. */
  ttl?: number;
  /** Extra zone-file lines for the child (e.g. TLSA records). */
  records?: string[];
  /** Serve the child from a secondary too (default true). */
  secondary?: boolean;
}

export interface DnssecRig {
  parent: BindHandle;
  child: BindHandle;
  /** The child's authoritative servers: primary, then secondary. */
  servers: Endpoint[];
  unbound: UnboundHandle;
  /** The validating resolver (danehook `dnssec.resolver`). */
  resolver: Endpoint;
  /** `trust-anchors { "test." static-key 257 3 13 "…"; };` for delv. */
  parentAnchorFile: string;
  /** DS rdata the parent holds for the child ("tag alg digest-type HEX"); [] when none. */
  ds: string[];
  signed: boolean;
  /** I/O: delv through Unbound from the parent's anchor: what it concludes about name/type. */
  delv(name: string, type: string): Promise<DelvVerdict>;
  /** I/O: RRSIG expirations of name/type as `server` serves them (dig +dnssec, authoritative). */
  rrsigExpiries(server: Endpoint, name: string, type: string): Promise<Date[]>;
}

export interface DelvVerdict {
  /** "fully validated" | "unsigned answer" | "resolution failed" | "other" */
  verdict: 'validated' | 'unsigned' | 'failed' | 'other';
  output: string;
}

/** Pure: dig's RRSIG expiration field (YYYYMMDDHHmmSS, UTC) as a Date. */
export function parseRrsigTime(text: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) throw new Error(`not an RRSIG time: ${text}`);
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
}

/** I/O: the DS records (digest type 2, SHA-256) for the child's KSKs, by dnssec-dsfromkey. */
async function computeDs(child: BindHandle, dir: string): Promise<string[]> {
  const keys = (await dig(child.primary, CHILD, 'DNSKEY')).answers.filter((l) => /\sDNSKEY\s+257\s/.test(l));
  if (keys.length === 0) throw new Error('the child serves no KSK (DNSKEY 257)');
  const file = join(dir, 'child-dnskey.db');
  writeFileSync(file, `${keys.join('\n')}\n`);
  const { stdout } = await run(binaryPath('dnssec-dsfromkey'), ['-2', '-f', file, CHILD]);
  // "example.test. IN DS 12345 13 2 ABCD…"
  return stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).slice(3).join(' '));
}

/** Pure: the same DS with the digest's last hex digit changed: names the child's key tag, matches no key. */
export function spoilDs(ds: string): string {
  const last = ds.at(-1)!.toUpperCase();
  return ds.slice(0, -1) + (last === '0' ? '1' : '0');
}

/** I/O: start child, parent and resolver; returns when Unbound answers for both zones. */
export async function startDnssecRig(t: HarnessContext, opts: DnssecRigOptions = {}): Promise<DnssecRig> {
  const signed = opts.signed ?? true;
  const dsMode = opts.ds ?? (signed ? 'match' : 'none');
  if (!signed && dsMode !== 'none') throw new Error('an unsigned child with a DS at the parent is the "bogus" case: use signed + ds: "bogus"');
  const child = await startBind(t, {
    zone: CHILD, ttl: opts.ttl ?? 30, secondary: opts.secondary ?? true, inlineSigned: signed,
    signaturesValidity: opts.signaturesValidity, records: opts.records,
  });
  if (child.secondary && !(await child.waitForSecondarySync())) throw new Error('the child secondary did not catch up');
  const servers = [child.primary, ...(child.secondary ? [child.secondary] : [])];
  const realDs = signed ? await computeDs(child, child.tempDir) : [];
  const ds = dsMode === 'match' ? realDs : dsMode === 'bogus' ? realDs.map(spoilDs) : [];
  const parent = await startBind(t, {
    zone: PARENT, ttl: 30, inlineSigned: true,
    records: [
      'example IN NS ns1.example',
      'example IN NS ns2.example',
      'ns1.example IN A 127.0.0.1',
      'ns2.example IN A 127.0.0.1',
      ...ds.map((d) => `example IN DS ${d}`),
    ],
  });
  const parentAnchorFile = await parent.trustAnchorFile();
  const unbound = await startUnbound(t, {
    zone: PARENT, servers: [parent.primary], trustAnchorFile: parentAnchorFile,
    stubs: [{ zone: CHILD, servers }],
  });
  return {
    parent, child, servers, unbound, resolver: unbound.endpoint, parentAnchorFile, ds, signed,
    async delv(name, type) {
      const args = ['-a', parentAnchorFile, `+root=${PARENT}`, `@${unbound.endpoint.host}`, '-p', String(unbound.endpoint.port), name, type];
      const { stdout, stderr } = await run(binaryPath('delv'), args).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
      const output = `${stdout}${stderr}`;
      const verdict = /; fully validated/.test(output) ? 'validated'
        : /; unsigned answer/.test(output) ? 'unsigned'
          : /resolution failed/.test(output) ? 'failed' : 'other';
      return { verdict, output };
    },
    async rrsigExpiries(server, name, type) {
      const r = await dig(server, name, type, ['+dnssec']);
      return rdataOf(r, 'RRSIG').filter((x) => x.split(' ')[0] === type).map((x) => parseRrsigTime(x.split(' ')[4]!));
    },
  };
}
