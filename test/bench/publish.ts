// 2. Publish throughput: 3,000 TLSA records (3 per owner name, 1,000 owner names) added to one
// zone on a real BIND primary, by danehook's RFC 2136 provider (in process, fresh provider per
// run, as one danehook run would use it) and by BIND's own `nsupdate` (one process, one `send`
// per as many `update add` lines as nsupdate can fit in one message — found by bisection below).
// Between runs every record is deleted; after each run an AXFR must show exactly the 3,000.
import { formatRdata } from '../../src/core/rdata.js';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { startBind, type BindHandle } from '../harness/bind.js';
import { binaryPath } from '../harness/binaries.js';
import { TsigKey } from '../../src/config/tsig-key.js';
import { createRfc2136Provider } from '../../src/providers/rfc2136/index.js';
import { computeUpdateMessages } from '../../src/providers/rfc2136/split.js';
import { computeTsigRecordSize } from '../../src/providers/rfc2136/tsig.js';
import { MAX_TCP_MESSAGE } from '../../src/io/dns-wire.js';
import type { Change } from '../../src/providers/types.js';
import { benchContext, median, say, withRatio, type Row } from './lib.js';

const run = promisify(execFile);
export const ZONE = 'example.test.';
const OWNERS = 1000;
const PER_OWNER = 3;
const PARAMS = [
  { usage: 3, selector: 1, matchingType: 1 },
  { usage: 3, selector: 0, matchingType: 1 },
  { usage: 2, selector: 1, matchingType: 1 },
];

export function makeChanges(owners: number, ttl: number, ownerName: (i: number) => string): Change[] {
  const out: Change[] = [];
  for (let i = 0; i < owners; i++) {
    for (let j = 0; j < PER_OWNER; j++) out.push({ op: 'create', name: ownerName(i), ttl, rdata: { ...PARAMS[j]!, data: randomBytes(32).toString('hex') } });
  }
  return out;
}

const addLine = (c: Change) => `update add ${c.name} ${c.ttl} TLSA ${formatRdata(c.rdata)}`;

/** One nsupdate process; `batches` of lines, each followed by `send`. */
export function runNsupdate(bind: BindHandle, batches: string[][]): Promise<{ code: number | null; ms: number; stderr: string }> {
  const script = [`server ${bind.primary.host} ${bind.primary.port}`, `zone ${ZONE}`, ...batches.flatMap((b) => [...b, 'send']), ''].join('\n');
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(binaryPath('nsupdate'), ['-k', bind.keyFilePath], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, ms: Number(process.hrtime.bigint() - started) / 1e6, stderr }));
    // nsupdate stops reading at the first failed send: the rest of the script meets EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(script);
  });
}

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** Every TLSA record of the zone (AXFR from the primary), as "owner u s m hex" lines. */
export async function axfrTlsa(bind: BindHandle, server = bind.primary): Promise<Set<string>> {
  const { stdout } = await run(binaryPath('dig'), [`@${server.host}`, '-p', String(server.port), '+nocookie', '+nosplit', '+onesoa', '+nocmd', '+nostats', '+nocomments', ZONE, 'AXFR'], { maxBuffer: 256 * 1024 * 1024 });
  const out = new Set<string>();
  for (const line of stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[3] === 'TLSA') out.add(`${f[0]!.toLowerCase()} ${f[4]} ${f[5]} ${f[6]} ${f.slice(7).join('').toLowerCase()}`);
  }
  return out;
}

const key = (c: Change) => `${c.name} ${formatRdata(c.rdata)}`;

async function verifyExactly(bind: BindHandle, changes: Change[], who: string): Promise<void> {
  const have = await axfrTlsa(bind);
  const missing = changes.filter((c) => !have.has(key(c)));
  if (missing.length > 0 || have.size !== changes.length) {
    throw new Error(`${who}: AXFR shows ${have.size} TLSA records, ${missing.length} of the ${changes.length} expected missing (e.g. ${missing[0] && key(missing[0])})`);
  }
}

async function deleteAll(bind: BindHandle, names: string[]): Promise<void> {
  const r = await runNsupdate(bind, chunk(names.map((n) => `update delete ${n} TLSA`), 500));
  if (r.code !== 0) throw new Error(`nsupdate delete failed: ${r.stderr}`);
  const left = await axfrTlsa(bind);
  if (left.size !== 0) throw new Error(`${left.size} TLSA records left after delete`);
}

/**
 * Largest n such that nsupdate sends `lines` in chunks of n `update add` lines, one `send` each:
 * its limit is the rendered message size (64 KiB with TSIG: "dns_request_create: ran out of
 * space" beyond it), so it depends on the owner names; bisect over the real lines.
 */
async function findNsupdateBatch(bind: BindHandle, lines: string[]): Promise<number> {
  const sendable = async (n: number) => {
    const r = await runNsupdate(bind, chunk(lines, n));
    if (r.code !== 0 && !/ran out of space/.test(r.stderr)) throw new Error(`nsupdate failed for another reason: ${r.stderr}`);
    return r.code === 0;
  };
  if (await sendable(lines.length)) return lines.length;
  let lo = 1;
  let hi = lines.length; // invariant: sendable(lo), !sendable(hi)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (await sendable(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export async function benchPublish(opts: { runs: number }): Promise<Row[]> {
  const t = benchContext();
  try {
    const bind = await startBind(t, { zone: ZONE, ttl: 300 });
    const tsig = new TsigKey(bind.key.name, bind.key.algorithm, Buffer.from(bind.key.secret, 'base64'));
    const changes = makeChanges(OWNERS, 300, (i) => `_25._tcp.h${i}.${ZONE}`);
    const names = [...new Set(changes.map((c) => c.name))];
    const lines = changes.map(addLine);

    const batch = await findNsupdateBatch(bind, lines);
    await deleteAll(bind, names);
    const batches = chunk(lines, batch);
    const ourMessages = computeUpdateMessages(ZONE, changes, new Map(), MAX_TCP_MESSAGE - computeTsigRecordSize(tsig)).length;
    say(`publish: nsupdate fits ${batch} adds per send → ${batches.length} sends; danehook packs ${changes.length} adds into ${ourMessages} UPDATE messages`);

    // nsupdate's fixed cost (process start, key file): an empty script, for the note.
    const idle: number[] = [];
    for (let i = 0; i < 3; i++) idle.push((await runNsupdate(bind, [])).ms);

    const ours: number[] = [];
    const oursZoned: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      // danehook's provider, finding each name's zone (the default) and with dns.zone set
      for (const [zones, into] of [[undefined, ours], [[ZONE], oursZoned]] as const) {
        const provider = createRfc2136Provider({ server: bind.primary, key: tsig, timeoutMs: 10_000, ...(zones ? { zones: [...zones] } : {}) });
        const t0 = process.hrtime.bigint();
        await provider.apply({ changes });
        into.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await verifyExactly(bind, changes, 'danehook provider');
        await deleteAll(bind, names);
      }
      // nsupdate
      const r = await runNsupdate(bind, batches);
      if (r.code !== 0) throw new Error(`nsupdate failed: ${r.stderr}`);
      theirs.push(r.ms);
      await verifyExactly(bind, changes, 'nsupdate');
      await deleteAll(bind, names);
    }
    say(`publish: danehook ${median(ours).toFixed(0)} ms (dns.zone set: ${median(oursZoned).toFixed(0)} ms), nsupdate ${median(theirs).toFixed(0)} ms`);

    // Where danehook's time goes (the two CPU-side parts of apply(), timed on their own; the rest
    // is sending the messages and BIND applying them): the zone lookups apply() makes (one SOA
    // query per distinct base name, all in one burst pipelined over TCP by the resolver), and the
    // splitting into messages.
    const zoneMs: number[] = [];
    const splitMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const provider = createRfc2136Provider({ server: bind.primary, key: tsig, timeoutMs: 10_000 });
      let t0 = process.hrtime.bigint();
      await Promise.all(changes.map((c) => provider.findZone(c.name)));
      zoneMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      t0 = process.hrtime.bigint();
      computeUpdateMessages(ZONE, changes, new Map(), MAX_TCP_MESSAGE - computeTsigRecordSize(tsig));
      splitMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const row = withRatio({
      bench: '2 publish 3,000 TLSA (1,000 names)', metric: 'wall time', unit: 'ms', value: median(ours), runs: ours.length, samples: ours,
      baseline: { name: `nsupdate, ${batches.length} sends of ≤${batch}`, value: median(theirs), runs: theirs.length }, baselineSamples: theirs,
      target: '≤ 1.5×',
      note: `danehook: ${ourMessages} UPDATE messages over TCP, in process; nsupdate: one process, ${batches.length} sends (its limit for these lines: ${batch} adds per message), its start-up alone ${median(idle).toFixed(0)} ms; of danehook's time, ${median(zoneMs).toFixed(0)} ms are ${names.length} zone (SOA) lookups (one per owner's base name: a name may sit in a delegated zone, so each is asked; sent as one burst pipelined over one TCP connection) and ${median(splitMs).toFixed(0)} ms the splitting (sizes added up op by op, each message formatted once); every run verified by AXFR (3,000 present), records deleted between runs`,
    });
    row.ok = row.ratio! <= 1.5;
    const zoned = withRatio({
      bench: '2 publish 3,000 TLSA (1,000 names)', metric: 'wall time, dns.zone set', unit: 'ms', value: median(oursZoned), runs: oursZoned.length, samples: oursZoned,
      baseline: { name: `nsupdate, ${batches.length} sends of ≤${batch}`, value: median(theirs), runs: theirs.length }, baselineSamples: theirs,
      target: '≤ 1.0×', note: 'the zone is named in the config (dns.zone): no zone lookups, as nsupdate is told the zone',
    });
    zoned.ok = zoned.ratio! <= 1.0;
    const rate: Row = {
      bench: '2 publish 3,000 TLSA (1,000 names)', metric: 'throughput', unit: 'records/s', value: (changes.length / median(ours)) * 1000, runs: ours.length,
      baseline: { name: 'nsupdate', value: (changes.length / median(theirs)) * 1000, runs: theirs.length },
    };
    rate.ratio = rate.value / rate.baseline!.value;
    return [row, zoned, rate];
  } finally {
    await t.close();
  }
}
