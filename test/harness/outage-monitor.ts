// An independent DANE outage monitor for integration tests. It never imports danehook code: DNS
// is read with dig (via the harness), the presented certificate with node:tls (SMTP STARTTLS or
// implicit TLS) and hashed here. Every ~100 ms it samples what each endpoint presents and the TLSA
// RRset each authoritative server serves, and keeps, per server and owner, every RRset seen during
// the last TTL seconds (a resolver may have cached any of them). A sample is a violation when one
// of those RRsets is non-empty and matches no certificate the endpoint presents now.
//
// Matching: DANE-EE (usage 3) with selector 0 (full certificate) or 1 (SPKI) and matching type
// 0 (exact), 1 (SHA-256) or 2 (SHA-512). Records of other usages never count as a match
// (the monitor is conservative: a scenario that relies on them must not use this monitor) —
// unless `parameters: 'each'`: then DANE-TA (usage 2) is matched against the presented issuers,
// and every (usage selector mtype) combination in an RRset must match on its own (RFC 7671 §8.1).
//
// Several certificates for one name (RSA + ECDSA): give one endpoint per key type with `keyType`;
// its probe offers only that type's signature algorithms, so the server must present that one.
// `required` ("3 1 1", "2 1 1") names combinations each presented chain needs in what every
// server serves right now: a record some live certificate needs that is missing is a violation.
import { createHash, X509Certificate } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { dig, type Endpoint } from './dns.js';

export interface MonitoredServer extends Endpoint {
  /** Label used in reports, e.g. "primary". */
  name: string;
}

export interface MonitoredEndpoint extends Endpoint {
  name: string;
  /** 'smtp': plain SMTP then STARTTLS (RFC 3207); 'tls': TLS from the first byte (smtps, https). */
  mode: 'smtp' | 'tls';
  /** The TLSA owner clients look up for this endpoint, absolute ("_25._tcp.mx.example.test."). */
  owner: string;
  servername?: string;
  /** Ask for this key type's certificate only (signature_algorithms, RFC 8446 §4.2.3). */
  keyType?: MonitorKeyType;
}

export type MonitorKeyType = 'rsa' | 'ecdsa';

export interface OutageMonitorOptions {
  servers: MonitoredServer[];
  endpoints: MonitoredEndpoint[];
  /** Seconds an RRset stays "possibly cached" after it was last seen; the answer's own TTL wins if larger. */
  ttlSeconds: number;
  intervalMs?: number;
  /** Per-operation timeout (dig has its own +time=1). */
  timeoutMs?: number;
  /** Keep at most this many violation details (the count is always exact). */
  maxDetails?: number;
  /** 'any' (default): an RRset must hold one matching DANE-EE record; 'each': see the header. */
  parameters?: 'any' | 'each';
  /** Combinations ("3 1 1") every presented chain needs in each server's current RRset. */
  required?: string[];
}

export interface Presented {
  /** SHA-256 of the leaf's SubjectPublicKeyInfo (DER), lowercase hex. */
  spkiSha256: string;
  /** SHA-256 of the leaf certificate (DER), lowercase hex. */
  certSha256: string;
  spki: Buffer;
  der: Buffer;
  /** DER of the presented issuers, in issuer order (for DANE-TA). */
  issuers: Buffer[];
}

export interface OutageReport {
  samples: number;
  violations: number;
  details: string[];
  /** Endpoint samples that failed (connection refused, timeout, no certificate). */
  probeErrors: number;
  /** Server samples that failed (no reply, not authoritative, not NOERROR). */
  dnsErrors: number;
  /** Distinct SPKI hashes seen presented, in order of first appearance. */
  presentedSeen: string[];
  /** Distinct RRsets (joined) seen per server/owner, for debugging. */
  rrsetsSeen: number;
  /** Samples in which some server's current RRset lacked a `required` combination for a presented chain. */
  missing: number;
}

export interface OutageMonitor {
  /** End the loop (after the sample in flight) and return the final report. */
  stop(): Promise<OutageReport>;
  report(): OutageReport;
  /** Resolves after at least `n` more complete samples. */
  waitSamples(n: number): Promise<void>;
}

interface Seen {
  rrset: string[];
  lastSeen: number;
  ttl: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: timeout after ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}

/** Read SMTP reply lines until the final line of one reply ("250 ..." not "250-..."). */
function readReply(sock: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const lines = buf.split('\r\n');
      if (lines.slice(0, -1).some((l) => /^\d{3} /.test(l) || /^\d{3}$/.test(l))) {
        cleanup();
        resolve(buf);
      }
    };
    const onErr = (e: Error) => { cleanup(); reject(e); };
    const onEnd = () => { cleanup(); reject(new Error(`connection closed (got ${JSON.stringify(buf)})`)); };
    const cleanup = () => { sock.off('data', onData); sock.off('error', onErr); sock.off('end', onEnd); };
    sock.on('data', onData);
    sock.once('error', onErr);
    sock.once('end', onEnd);
  });
}

/** I/O: the leaf certificate an endpoint presents, via node:tls (no danehook code). */
export async function fetchPresented(ep: Omit<MonitoredEndpoint, 'owner' | 'name'>, timeoutMs = 3000): Promise<Presented> {
  const raw = netConnect({ host: ep.host, port: ep.port });
  raw.setNoDelay(true);
  try {
    return await withTimeout((async () => {
      await new Promise<void>((resolve, reject) => { raw.once('connect', resolve); raw.once('error', reject); });
      if (ep.mode === 'smtp') {
        const banner = await readReply(raw);
        if (!banner.startsWith('220')) throw new Error(`SMTP banner: ${banner.trim()}`);
        raw.write('EHLO monitor.invalid\r\n');
        const ehlo = await readReply(raw);
        if (!/^250[ -]STARTTLS/im.test(ehlo)) throw new Error(`no STARTTLS offered: ${ehlo.trim()}`);
        raw.write('STARTTLS\r\n');
        const go = await readReply(raw);
        if (!go.startsWith('220')) throw new Error(`STARTTLS refused: ${go.trim()}`);
      }
      const tls = tlsConnect({
        socket: raw, servername: ep.servername, rejectUnauthorized: false,
        // An empty trust store: the issuer walk below must see only what the server sent.
        ca: [],
        ...(ep.keyType ? { sigalgs: MONITOR_SIGALGS[ep.keyType] } : {}),
      });
      try {
        await new Promise<void>((resolve, reject) => { tls.once('secureConnect', resolve); tls.once('error', reject); });
        // getPeerCertificate(true) first: called after getPeerX509Certificate() it came back empty
        // (Node 20.20), losing the issuers.
        const detailed = tls.getPeerCertificate(true);
        if (!detailed || !detailed.raw) throw new Error('no certificate presented');
        const peer = new X509Certificate(detailed.raw);
        const type = peer.publicKey.asymmetricKeyType;
        if (ep.keyType && type !== (ep.keyType === 'ecdsa' ? 'ec' : 'rsa')) throw new Error(`asked for ${ep.keyType}, got a ${type} certificate`);
        const der = peer.raw;
        const spki = peer.publicKey.export({ type: 'spki', format: 'der' });
        const issuers: Buffer[] = [];
        const seen = new Set<string>([peer.fingerprint256]);
        for (let c = detailed.issuerCertificate; c && c.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
          seen.add(c.fingerprint256);
          issuers.push(Buffer.from(c.raw));
        }
        return {
          der, spki, issuers,
          spkiSha256: createHash('sha256').update(spki).digest('hex'),
          certSha256: createHash('sha256').update(der).digest('hex'),
        };
      } finally {
        tls.destroy();
      }
    })(), timeoutMs, `${ep.host}:${ep.port}`);
  } finally {
    raw.destroy();
  }
}

// openssl's "ALG+HASH" spelling (danehook's probe uses IANA names): an independent way to ask.
const MONITOR_SIGALGS: Record<MonitorKeyType, string> = {
  rsa: 'RSA-PSS+SHA256:RSA-PSS+SHA384:RSA-PSS+SHA512:RSA+SHA256:RSA+SHA384:RSA+SHA512',
  ecdsa: 'ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512',
};

function associationMatches(s: string | undefined, m: string | undefined, data: string, der: Buffer, spki: Buffer): boolean {
  const selected = s === '0' ? der : s === '1' ? spki : undefined;
  if (!selected) return false;
  const hashed = m === '0' ? selected.toString('hex') : m === '1' ? createHash('sha256').update(selected).digest('hex') : m === '2' ? createHash('sha512').update(selected).digest('hex') : undefined;
  return hashed !== undefined && hashed === data;
}

/**
 * Pure: does one TLSA record ("u s m hex") match the presented chain? DANE-EE against the leaf;
 * DANE-TA (only with `withTa`) against any presented issuer (the TA must be in the chain, RFC 7671 §5.2.2).
 */
export function tlsaMatches(record: string, p: Pick<Presented, 'der' | 'spki'> & { issuers?: Buffer[] }, withTa = false): boolean {
  const [u, s, m, ...rest] = record.trim().split(/\s+/);
  const data = rest.join('').toLowerCase();
  if (u === '3') return associationMatches(s, m, data, p.der, p.spki);
  if (u === '2' && withTa) {
    return (p.issuers ?? []).some((der) => associationMatches(s, m, data, der, new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' })));
  }
  return false;
}

/** Pure: "3 1 1" of a record. */
const paramsOf = (record: string) => record.trim().split(/\s+/).slice(0, 3).join(' ');

/**
 * Pure: why an RRset does not cover a presented chain, or undefined. 'any': one DANE-EE record
 * matches. 'each': every DANE-EE/DANE-TA combination present matches on its own (RFC 7671 §8.1).
 */
export function explainMismatch(rrset: string[], p: Pick<Presented, 'der' | 'spki' | 'issuers'>, parameters: 'any' | 'each'): string | undefined {
  if (parameters === 'any') return rrset.some((rec) => tlsaMatches(rec, p)) ? undefined : 'no record matches';
  const combos = [...new Set(rrset.map(paramsOf).filter((c) => c.startsWith('2 ') || c.startsWith('3 ')))];
  if (combos.length === 0) return 'no DANE-EE or DANE-TA record';
  const failing = combos.filter((c) => !rrset.some((rec) => paramsOf(rec) === c && tlsaMatches(rec, p, true)));
  return failing.length > 0 ? `no ${failing.join(' / ')} record matches` : undefined;
}

/** Presented-certificate helpers for tests: SPKI SHA-256 of a PEM certificate, computed by node:crypto. */
export function spkiSha256OfPem(pem: string): string {
  const c = new X509Certificate(pem);
  return createHash('sha256').update(c.publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** I/O: start sampling; call stop() to end it. */
export function startOutageMonitor(opts: OutageMonitorOptions): OutageMonitor {
  const intervalMs = opts.intervalMs ?? 100;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const maxDetails = opts.maxDetails ?? 50;
  const owners = [...new Set(opts.endpoints.map((e) => e.owner.toLowerCase()))];
  // window[server][owner] = RRsets seen, keyed by their sorted text
  const windows = new Map<string, Map<string, Map<string, Seen>>>();
  for (const s of opts.servers) windows.set(s.name, new Map(owners.map((o) => [o, new Map()])));
  const parameters = opts.parameters ?? 'any';
  const required = opts.required ?? [];
  // Each server's RRset per owner in the latest sample (the `required` check looks at now, not the window).
  const current = new Map<string, Map<string, string[]>>(opts.servers.map((s) => [s.name, new Map()]));
  const rep: OutageReport = { samples: 0, violations: 0, details: [], probeErrors: 0, dnsErrors: 0, presentedSeen: [], rrsetsSeen: 0, missing: 0 };
  let stopped = false;
  const waiters: { until: number; resolve: () => void }[] = [];
  const t0 = Date.now();

  async function sampleDns(server: MonitoredServer, owner: string): Promise<void> {
    try {
      const r = await dig(server, owner, 'TLSA');
      if (r.status !== 'NOERROR' && r.status !== 'NXDOMAIN') throw new Error(r.status);
      if (!r.flags.includes('aa')) throw new Error('answer not authoritative');
      const rows = r.answers.map((l) => l.trim().split(/\s+/)).filter((f) => f[3] === 'TLSA');
      const rrset = rows.map((f) => f.slice(4).join(' ').toLowerCase()).sort();
      const ttl = Math.max(opts.ttlSeconds, ...rows.map((f) => Number(f[1]) || 0));
      const key = rrset.join('|');
      const w = windows.get(server.name)!.get(owner)!;
      current.get(server.name)!.set(owner, rrset);
      if (!w.has(key)) rep.rrsetsSeen++;
      w.set(key, { rrset, lastSeen: Date.now(), ttl });
    } catch {
      rep.dnsErrors++;
      current.get(server.name)!.delete(owner); // unknown now: the required check skips it
    }
  }

  async function sampleOnce(): Promise<void> {
    const [presented] = await Promise.all([
      Promise.all(opts.endpoints.map((ep) => fetchPresented(ep, timeoutMs).then((p) => p, () => undefined))),
      Promise.all(opts.servers.flatMap((s) => owners.map((o) => sampleDns(s, o)))),
    ]);
    const now = Date.now();
    // Forget RRsets no resolver can still hold: last seen more than TTL ago.
    for (const perOwner of windows.values()) {
      for (const w of perOwner.values()) for (const [k, v] of w) if (now - v.lastSeen > v.ttl * 1000) w.delete(k);
    }
    rep.samples++;
    let bad = false;
    let missing = false;
    const at = `t+${((now - t0) / 1000).toFixed(1)}s`;
    const short = (rrset: string[]) => `{${rrset.map((x) => x.slice(0, 22) + '…').join(', ')}}`;
    opts.endpoints.forEach((ep, i) => {
      const p = presented[i];
      if (!p) {
        rep.probeErrors++;
        return;
      }
      if (!rep.presentedSeen.includes(p.spkiSha256)) rep.presentedSeen.push(p.spkiSha256);
      const owner = ep.owner.toLowerCase();
      for (const s of opts.servers) {
        for (const seen of windows.get(s.name)!.get(owner)!.values()) {
          if (seen.rrset.length === 0) continue;
          const why = explainMismatch(seen.rrset, p, parameters);
          if (!why) continue;
          bad = true;
          if (rep.details.length < maxDetails) {
            const age = ((now - seen.lastSeen) / 1000).toFixed(1);
            rep.details.push(`${at} ${ep.name} presents SPKI ${p.spkiSha256.slice(0, 16)}… but ${s.name} served ${ep.owner} TLSA ${short(seen.rrset)} ${age}s ago (TTL ${seen.ttl}s): ${why}`);
          }
        }
        const now_ = current.get(s.name)!.get(owner);
        if (now_ === undefined) continue;
        const lacking = required.filter((c) => !now_.some((rec) => paramsOf(rec) === c && tlsaMatches(rec, p, true)));
        if (lacking.length === 0) continue;
        bad = true;
        missing = true;
        if (rep.details.length < maxDetails) {
          rep.details.push(`${at} ${ep.name} presents SPKI ${p.spkiSha256.slice(0, 16)}… but ${s.name} serves ${ep.owner} TLSA ${short(now_)} without a matching ${lacking.join(' / ')} record`);
        }
      }
    });
    if (bad) rep.violations++;
    if (missing) rep.missing++;
    for (const w of [...waiters]) {
      if (rep.samples >= w.until) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      await sampleOnce();
      const left = intervalMs - (Date.now() - started);
      if (left > 0 && !stopped) await new Promise((r) => setTimeout(r, left));
    }
  })();

  const snapshot = (): OutageReport => ({ ...rep, details: [...rep.details], presentedSeen: [...rep.presentedSeen] });
  return {
    report: snapshot,
    async stop() {
      stopped = true;
      await loop;
      for (const w of waiters.splice(0)) w.resolve();
      return snapshot();
    },
    waitSamples(n) {
      return new Promise((resolve) => waiters.push({ until: rep.samples + n, resolve }));
    },
  };
}

interface BindPair {
  primary: Endpoint;
  secondary?: Endpoint;
}
interface PostfixListeners {
  host: string;
  smtpPort: number;
  smtpsPort: number | undefined;
}

/** The usual scenario: both BIND servers and both postfix listeners (STARTTLS and smtps) of `owner`. */
export function startPostfixOutageMonitor(bind: BindPair, pf: PostfixListeners, owner: string, ttlSeconds: number): OutageMonitor {
  const servername = owner.replace(/^(_[^.]+\.)+/, '').replace(/\.$/, '');
  return startOutageMonitor({
    servers: [{ name: 'primary', ...bind.primary }, ...(bind.secondary ? [{ name: 'secondary', ...bind.secondary }] : [])],
    endpoints: [
      { name: 'smtp+starttls', host: pf.host, port: pf.smtpPort, mode: 'smtp', owner, servername },
      ...(pf.smtpsPort ? [{ name: 'smtps', host: pf.host, port: pf.smtpsPort, mode: 'tls' as const, owner, servername }] : []),
    ],
    ttlSeconds,
  });
}
