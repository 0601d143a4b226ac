// `danehook check` (issue 13) against real servers: BIND primary + secondary serving an
// inline-signed example.test under a signed parent test. (DS or not), a validating Unbound as
// dnssec.resolver, openssl s_server at two endpoint addresses, and danehook's own state (A live,
// deployed by danehook). Each test breaks one thing (check-rigs.test.ts proves with dig, delv and
// openssl that the rig really is broken that way) and asserts the exit code (monitoring-plugin
// convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) and the finding naming endpoint and server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { CHECK_RIG_BINARIES, findingLines, OWNER, startCheckRig, summaryLine, type CheckRig } from '../harness/check-rig.js';
import { runCli, type CliResult } from '../harness/cli.js';
import { CHILD } from '../harness/dnssec-rig.js';
import { reportFigures } from '../harness/figures.js';

const DAY = 86_400;
/** Healthy signatures: 30 days, well past any warning threshold. */
const HEALTHY = { signaturesValidity: 30 * DAY };

interface Finding { severity: string; id: string; check: string; subject: string; server?: string; endpoint?: string; message: string }
interface Report { findings: Finding[]; summary: { status: string; ok: number; warning: number; critical: number; unknown: number } }

function parseJson(r: CliResult): Report {
  try {
    return JSON.parse(r.stdout) as Report;
  } catch {
    assert.fail(`check --json printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
const mentions = (f: Finding, text: string) => [f.subject, f.server, f.endpoint, f.message].some((x) => x?.includes(text));

/** Runs the check twice (text and --json) and asserts both give `code`; returns both. */
async function checkBoth(rig: CheckRig, code: number, args: string[] = []): Promise<{ text: CliResult; json: Report; lines: string[] }> {
  const text = await rig.check(args);
  assert.equal(text.code, code, show(text));
  const j = await rig.check([...args, '--json']);
  assert.equal(j.code, code, `--json: ${show(j)}`);
  const json = parseJson(j);
  const status = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'][code]!;
  assert.equal(json.summary.status, status);
  const summary = summaryLine(text.stdout);
  assert.match(summary ?? '', new RegExp(`^danehook check: ${status} — ${json.summary.critical} critical, ${json.summary.warning} warning, ${json.summary.unknown} unknown, ${json.summary.ok} ok$`), show(text));
  for (const f of json.findings) {
    assert.ok(['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'].includes(f.severity), JSON.stringify(f));
    assert.ok(['rrset', 'rrsig', 'chain', 'ds', 'endpoint', 'certificate', 'rollover', 'next-key', 'rrset-size', 'dkim'].includes(f.check), JSON.stringify(f));
  }
  return { text, json, lines: findingLines(text.stdout) };
}

/** Prometheus samples as {name, labels, value}. */
function parseTextfile(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
    assert.ok(m, `not a sample line: ${l}`);
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    return { name: m[1]!, labels, value: Number(m[3]) };
  });
}

function promtool(args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', args, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
    child.stdin?.end(input ?? '');
  });
}

test('healthy: exit 0, every check OK on both servers and both addresses; the textfile passes promtool; nothing written', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, [...CHECK_RIG_BINARIES, 'promtool'])) return;
  const rig = await startCheckRig(t, HEALTHY);
  const before = rig.ws.snapshotState();
  const prom = join(rig.ws.dir, 'textfile', 'danehook.prom');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dirname(prom));
  const { text, json, lines } = await checkBoth(rig, 0, ['--prometheus', prom]);
  assert.deepEqual(lines.filter((l) => !l.startsWith('OK ')), [], `no problem lines:\n${text.stdout}`);
  assert.equal(json.summary.critical + json.summary.warning + json.summary.unknown, 0, JSON.stringify(json, null, 2));
  // What was checked, by a validating resolver and on every server and address.
  const checks = (c: string) => json.findings.filter((f) => f.check === c);
  for (const server of rig.servers) {
    assert.ok(checks('rrset').some((f) => f.server === server), `rrset OK at ${server}`);
    assert.ok(checks('rrsig').some((f) => f.server === server), `rrsig OK at ${server}`);
  }
  for (const address of rig.addresses) assert.ok(checks('endpoint').some((f) => mentions(f, address)), `endpoint ${address} checked`);
  assert.ok(checks('chain').length > 0 && checks('ds').length > 0, 'chain and DS checked through the resolver');
  assert.ok(checks('chain').some((f) => f.message.includes(`${rig.dnssec.resolver.host}`)), 'says which resolver validated');
  assert.deepEqual(rig.ws.snapshotState(), before, 'check writes nothing in the state dir');

  // The textfile: promtool accepts it, nothing else left in its directory (atomic rename), values right.
  const textfile = readFileSync(prom, 'utf8');
  const lint = await promtool(['check', 'metrics'], textfile);
  assert.equal(lint.code, 0, `promtool check metrics:\n${lint.out}\n${textfile}`);
  assert.equal(lint.out.trim(), '', `promtool has remarks:\n${lint.out}`);
  assert.deepEqual(readdirSync(dirname(prom)), ['danehook.prom'], 'no temp file left beside the textfile');
  const samples = parseTextfile(textfile);
  const get = (name: string) => samples.filter((s) => s.name === name);
  assert.deepEqual(get('danehook_check_success').map((s) => s.value), [1]);
  const matches = get('danehook_tlsa_match');
  assert.equal(matches.length, rig.addresses.length * rig.servers.length, `one sample per endpoint × server:\n${textfile}`);
  assert.ok(matches.every((s) => s.value === 1 && s.labels.id === 'mx'), textfile);
  for (const a of rig.addresses) for (const sv of rig.servers) assert.ok(matches.some((s) => s.labels.endpoint!.includes(a) && s.labels.server === sv), `tlsa_match{endpoint~${a},server=${sv}}`);
  const rrsig = get('danehook_rrsig_expiry_seconds');
  assert.deepEqual(rrsig.map((s) => s.labels.server).sort(), [...rig.servers].sort(), textfile);
  assert.ok(rrsig.every((s) => s.value > 25 * DAY && s.value <= 30 * DAY && s.labels.name === OWNER), textfile);
  const cert = get('danehook_certificate_expiry_seconds');
  assert.equal(cert.length, 1);
  assert.ok(cert[0]!.value > 85 * DAY && cert[0]!.value <= 90 * DAY, textfile);
  const findings = Object.fromEntries(get('danehook_findings').map((s) => [s.labels.severity, s.value]));
  assert.deepEqual({ ...findings, ok: undefined }, { ok: undefined, warning: 0, critical: 0, unknown: 0 });
});

test('service presents a certificate not in the RRset: exit 2 naming that endpoint and the servers; the other address is fine', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, [...CHECK_RIG_BINARIES, 'promtool'])) return;
  const rig = await startCheckRig(t, HEALTHY);
  await rig.present(0, rig.b);
  const [bad, good] = rig.addresses as [string, string];
  const prom = join(rig.ws.dir, 'danehook.prom');
  const { text, json, lines } = await checkBoth(rig, 2, ['--prometheus', prom]);
  const critical = lines.filter((l) => l.startsWith('CRITICAL '));
  // One line per server whose RRset the endpoint does not match: here both.
  assert.equal(critical.length, rig.servers.length, text.stdout);
  for (const line of critical) {
    assert.ok(line.startsWith('CRITICAL mx '), line);
    assert.ok(line.includes(bad), `names the endpoint ${bad}: ${line}`);
    assert.match(line, /presents SPKI [0-9a-f]{16}…/, 'says what it presents');
  }
  for (const server of rig.servers) assert.ok(critical.some((l) => l.includes(server)), `names the server ${server}:\n${text.stdout}`);
  assert.ok(!lines.some((l) => l.includes(good) && !l.startsWith('OK ')), `nothing wrong at ${good}:\n${text.stdout}`);
  const f = json.findings.find((x) => x.severity === 'CRITICAL')!;
  assert.equal(f.check, 'endpoint');
  assert.ok(f.endpoint?.includes(bad), JSON.stringify(f));
  assert.ok(json.findings.some((x) => x.check === 'endpoint' && x.severity === 'OK' && x.endpoint?.includes(good)), 'the other address matches');

  const samples = parseTextfile(readFileSync(prom, 'utf8'));
  assert.deepEqual(samples.filter((s) => s.name === 'danehook_check_success').map((s) => s.value), [0]);
  for (const s of samples.filter((x) => x.name === 'danehook_tlsa_match')) assert.equal(s.value, s.labels.endpoint!.includes(bad) ? 0 : 1, JSON.stringify(s));
  assert.equal((await promtool(['check', 'metrics'], readFileSync(prom, 'utf8'))).code, 0);
});

test('secondary serving a stale RRset: exit 2 naming the secondary (and not the primary)', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  const rig = await startCheckRig(t, HEALTHY);
  await rig.makeSecondaryStale();
  const [primary, secondary] = rig.servers as [string, string];
  const { text, json } = await checkBoth(rig, 2);
  const critical = json.findings.filter((f) => f.severity === 'CRITICAL');
  assert.ok(critical.length > 0, text.stdout);
  // The secondary does not serve A's record …
  assert.ok(critical.some((f) => f.check === 'rrset' && f.server === secondary), `rrset CRITICAL at ${secondary}:\n${text.stdout}`);
  // … so what every address presents is not in the RRset it serves.
  for (const a of rig.addresses) assert.ok(critical.some((f) => f.check === 'endpoint' && f.endpoint?.includes(a) && mentions(f, secondary)), `endpoint ${a} vs ${secondary}:\n${text.stdout}`);
  assert.ok(!critical.some((f) => mentions(f, primary)), `nothing CRITICAL names the primary ${primary}:\n${text.stdout}`);
  assert.ok(json.findings.some((f) => f.check === 'rrset' && f.severity === 'OK' && f.server === primary), 'the primary serves the expected RRset');
  await rig.dnssec.child.releaseSecondary();
  await checkBoth(rig, 0);
});

test('signatures expiring within --warn-days: exit 1 naming each server; a BIND-default zone is not warned about by default', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  // RRSIG validity 2 days: BIND re-signs each signature when ½ day is left, so 1.5–2 days remain.
  const rig = await startCheckRig(t, { signaturesValidity: 2 * DAY });
  const { text, json, lines } = await checkBoth(rig, 1, ['--warn-days', '14']);
  const warnings = json.findings.filter((f) => f.severity === 'WARNING');
  assert.deepEqual(warnings.map((f) => `${f.check} ${f.server}`).sort(), rig.servers.map((s) => `rrsig ${s}`).sort(), text.stdout);
  for (const server of rig.servers) {
    const line = lines.find((l) => l.startsWith('WARNING mx ') && l.includes(server));
    assert.ok(line, `a WARNING line names ${server}:\n${text.stdout}`);
    assert.ok(line.includes(OWNER), line);
    assert.match(line, /expires 20\d\d-\d\d-\d\dT.*\(in (1\.[5-9]|2\.0) d/, line);
  }
  // The default threshold and a smaller one stay quiet about 1.5+ days; a larger one warns.
  await checkBoth(rig, 0, ['--warn-days', '1']);
  const dflt = await rig.check(['--json']);
  reportFigures(`check: RRSIG validity 2d → default warn-days exit ${dflt.code}, --warn-days 14 exit 1, --warn-days 1 exit 0`);

  // BIND's default dnssec-policy signs for 14 days and re-signs 5 days before expiry, so a healthy
  // zone's RRSIGs have 5–14 days left: the default must not call that a warning.
  const bindDefault = await startCheckRig(t, {});
  const r = await bindDefault.check();
  assert.equal(r.code, 0, `a healthy BIND-default zone (RRSIG ~13.9 d left) must be OK by default: ${show(r)}`);
});

test('unsigned zone: exit 2, CRITICAL "zone is not signed"', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  const rig = await startCheckRig(t, { signed: false });
  const { text, json, lines } = await checkBoth(rig, 2);
  const unsigned = json.findings.find((f) => f.severity === 'CRITICAL' && /not signed/.test(f.message));
  assert.ok(unsigned, text.stdout);
  assert.equal(unsigned.subject, CHILD);
  assert.ok(lines.some((l) => l.startsWith(`CRITICAL mx ${CHILD} `) && /zone is not signed: DANE needs DNSSEC/.test(l)), text.stdout);
  // The records themselves are right on both servers and both addresses match them.
  assert.ok(!json.findings.some((f) => f.check === 'endpoint' && f.severity !== 'OK'), text.stdout);
  assert.ok(!json.findings.some((f) => f.check === 'rrset' && f.severity !== 'OK'), text.stdout);
});

test('signed zone without DS at the parent: exit 2 (insecure); with a DS matching no key: exit 2 (bogus)', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  const noDs = await startCheckRig(t, { ...HEALTHY, ds: 'none' });
  const a = await checkBoth(noDs, 2);
  assert.ok(a.json.findings.some((f) => f.severity === 'CRITICAL' && f.check === 'ds' && f.subject === CHILD), a.text.stdout);
  assert.ok(a.json.findings.some((f) => f.check === 'rrsig' && f.severity === 'OK'), 'the RRSIGs themselves are fine');

  const bogus = await startCheckRig(t, { ...HEALTHY, ds: 'bogus' });
  const b = await checkBoth(bogus, 2);
  assert.ok(b.json.findings.some((f) => f.severity === 'CRITICAL' && f.check === 'chain'), b.text.stdout);
  // A DS exists (the resolver answers SERVFAIL because it does not match): not reported as "no DS".
  assert.ok(!b.json.findings.some((f) => f.check === 'ds' && /no DS/.test(f.message)), `bogus is not "no DS":\n${b.text.stdout}`);
});

test('one endpoint address down (of two): exit 2 for that address only', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  const rig = await startCheckRig(t, HEALTHY);
  await rig.services[1]!.stop();
  const [up, down] = rig.addresses as [string, string];
  const { text, json, lines } = await checkBoth(rig, 2);
  const bad = json.findings.filter((f) => f.severity !== 'OK');
  assert.ok(bad.length > 0 && bad.every((f) => f.check === 'endpoint' && f.severity === 'CRITICAL' && f.endpoint?.includes(down)), `only ${down} is CRITICAL:\n${text.stdout}`);
  assert.ok(lines.some((l) => l.startsWith('CRITICAL mx ') && l.includes(down)), text.stdout);
  assert.ok(json.findings.some((f) => f.check === 'endpoint' && f.severity === 'OK' && f.endpoint?.includes(up)), `${up} is OK`);
});

test('DNS server down: exit 3, UNKNOWN naming it; the other server and the endpoints still checked', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  const rig = await startCheckRig(t, HEALTHY);
  await rig.dnssec.child.stopSecondary();
  const [primary, secondary] = rig.servers as [string, string];
  const { text, json, lines } = await checkBoth(rig, 3);
  const unknown = json.findings.filter((f) => f.severity === 'UNKNOWN');
  assert.ok(unknown.length > 0 && unknown.every((f) => mentions(f, secondary)), text.stdout);
  assert.ok(lines.some((l) => l.startsWith('UNKNOWN mx ') && l.includes(secondary)), text.stdout);
  assert.ok(!json.findings.some((f) => f.severity === 'CRITICAL' || f.severity === 'WARNING'), text.stdout);
  assert.ok(json.findings.some((f) => f.check === 'rrset' && f.severity === 'OK' && f.server === primary), 'the primary is checked');
  for (const a of rig.addresses) assert.ok(json.findings.some((f) => f.check === 'endpoint' && f.severity === 'OK' && f.endpoint?.includes(a)), `${a} checked against the primary`);
});

test('validating resolver down: exit 3 (chain UNKNOWN), not CRITICAL', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  const rig = await startCheckRig(t, HEALTHY);
  await rig.dnssec.unbound.daemon.stop();
  const { text, json } = await checkBoth(rig, 3);
  const resolver = `${rig.dnssec.resolver.host}:${rig.dnssec.resolver.port}`;
  assert.ok(json.findings.some((f) => f.severity === 'UNKNOWN' && (f.check === 'chain' || f.check === 'ds') && f.message.includes(resolver)), text.stdout);
});

test('no dnssec.resolver configured: chain UNKNOWN (exit 3) with what to configure; RRSIGs still checked on every server', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  const rig = await startCheckRig(t, HEALTHY);
  const r = await rig.check(['--json'], { config: rig.configWithoutResolver });
  assert.equal(r.code, 3, show(r));
  const json = parseJson(r);
  assert.ok(json.findings.some((f) => f.severity === 'UNKNOWN' && f.check === 'chain' && /dnssec\.resolver/.test(f.message)), r.stdout);
  for (const server of rig.servers) assert.ok(json.findings.some((f) => f.check === 'rrsig' && f.severity === 'OK' && f.server === server), `rrsig at ${server}`);
  assert.ok(!json.findings.some((f) => f.severity === 'CRITICAL' || f.severity === 'WARNING'), r.stdout);
});

test('--id limits the check to one entry; an unknown id is UNKNOWN (3), as plugins report what they cannot check', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  const rig = await startCheckRig(t, HEALTHY);
  const ok = await rig.check(['--id', 'mx', '--json']);
  assert.equal(ok.code, 0, show(ok));
  assert.ok(parseJson(ok).findings.every((f) => f.id === 'mx'));
  const bad = await rig.check(['--id', 'nope']);
  assert.equal(bad.code, 3, show(bad));
  assert.match(bad.stdout, /^UNKNOWN nope /m);
});

test('no lock: check runs at once while another run holds the lock (a deploy, the control, finds it busy and queues)', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  const rig = await startCheckRig(t, HEALTHY);
  // A live process of ours named in the lock file: to danehook, a run holding the lock.
  const holder = spawn('sleep', ['120'], { stdio: 'ignore' });
  t.after(() => { holder.kill('SIGKILL'); });
  const lock = join(rig.ws.stateDir, 'lock');
  writeFileSync(lock, `${holder.pid}\n`);
  const started = Date.now();
  const r = await rig.check();
  const ms = Date.now() - started;
  assert.equal(r.code, 0, show(r));
  assert.equal(readFileSync(lock, 'utf8'), `${holder.pid}\n`, 'the lock file is untouched');
  // Control: a deploy does see the lock as held. Short timeouts keep its computed wait to ~2 s.
  const cfg = JSON.parse(readFileSync(rig.config, 'utf8'));
  cfg.dns.timeout = '200ms';
  cfg.certificates[0].probe = { ...cfg.certificates[0].probe, timeout: '500ms', grace: '0s' };
  const quick = join(rig.ws.dir, 'quick-timeouts.json');
  writeFileSync(quick, JSON.stringify(cfg));
  const control = await runCli(['deploy', '-c', quick, '--pem', rig.b.combinedPath], { timeoutMs: 60_000 });
  assert.equal(control.code, 0, show(control));
  assert.match(control.stderr, new RegExp(`pid ${holder.pid}\\) held the lock`), `the deploy found the lock busy:\n${control.stderr}`);
  reportFigures(`check: with the lock held by another process, check took ${ms} ms (a deploy found it busy and queued)`);
  assert.ok(ms < 4000, `check waited for the lock? ${ms} ms`);
});
