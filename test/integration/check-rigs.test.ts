// Controls for `danehook check` (check.test.ts): each scenario's rig really produces the condition
// the check must report, as tools that are not danehook see it — dig +dnssec at each authoritative
// server, delv from the parent's trust anchor, Unbound's AD bit, openssl's DANE verification at
// each endpoint address against the RRset each server serves. A check test that passes against a
// rig that is not broken would prove nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { requireBinaries } from '../harness/binaries.js';
import { assertServedEverywhere, CHECK_RIG_BINARIES, DOMAIN, OWNER, startCheckRig, tlsaOfLeaf, type CheckRig } from '../harness/check-rig.js';
import { dig, rdataOf, type Endpoint } from '../harness/dns.js';
import { CHILD, PARENT, startDnssecRig } from '../harness/dnssec-rig.js';
import { reportFigures } from '../harness/figures.js';
import { readTlsa } from '../harness/dane-check.js';
import { opensslDaneVerify } from '../harness/tls-service-openssl.js';

const DAY = 86_400_000;
const days = (d: Date) => (d.getTime() - Date.now()) / DAY;

/** openssl's DANE verdict for every (address, server) pair, with the RRset that server serves. */
async function daneMatrix(rig: CheckRig): Promise<Record<string, boolean>> {
  const out: Record<string, boolean> = {};
  for (const [i, server] of rig.dnssec.servers.entries()) {
    const rrset = await readTlsa(server, OWNER);
    for (const s of rig.services) {
      out[`${s.host}:${s.port} vs ${rig.servers[i]}`] = rrset.length > 0 && (await opensslDaneVerify(s.host, s.port, undefined, DOMAIN, rrset)).ok;
    }
  }
  return out;
}

const matrixOf = (rig: CheckRig, ok: (address: string, server: string) => boolean) =>
  Object.fromEntries(rig.dnssec.servers.flatMap((_, i) => rig.addresses.map((a) => [`${a} vs ${rig.servers[i]}`, ok(a, rig.servers[i]!)])));

function refused(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const s = connect({ host: host!, port: Number(port) });
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

async function rrsigDays(server: Endpoint): Promise<number[]> {
  const r = await dig(server, OWNER, 'TLSA', ['+dnssec']);
  return rdataOf(r, 'RRSIG').filter((x) => x.startsWith('TLSA ')).map((x) => {
    const t = x.split(' ')[4]!;
    return days(new Date(Date.UTC(+t.slice(0, 4), +t.slice(4, 6) - 1, +t.slice(6, 8), +t.slice(8, 10), +t.slice(10, 12), +t.slice(12, 14))));
  });
}

test('control: the healthy rig validates through the DS and every address matches every server; then each break shows', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  const rig = await startCheckRig(t, { signaturesValidity: 30 * 86_400 });
  const { dnssec } = rig;

  // Healthy: Unbound validates (AD) with only the parent's anchor, delv agrees, both servers sign
  // the RRset with ≥ 20 days left, openssl verifies both addresses against both servers' RRsets.
  assert.ok((await dnssec.unbound.resolve(OWNER, 'TLSA')).flags.includes('ad'), 'Unbound sets AD');
  assert.equal((await dnssec.delv(OWNER, 'TLSA')).verdict, 'validated');
  assert.deepEqual(rdataOf(await dig(dnssec.parent.primary, CHILD, 'DS'), 'DS'), dnssec.ds, 'the parent serves the child DS');
  for (const s of dnssec.servers) {
    const left = await rrsigDays(s);
    assert.ok(left.length > 0 && left.every((d) => d > 20), `RRSIG days left at ${s.port}: ${left}`);
  }
  assert.deepEqual(await daneMatrix(rig), matrixOf(rig, () => true), 'every address matches every server');

  // Mismatch: address 0 presents B, whose record nobody serves.
  await rig.present(0, rig.b);
  assert.deepEqual(await daneMatrix(rig), matrixOf(rig, (a) => a !== rig.addresses[0]), 'only address 0 fails, against both servers');
  await rig.present(0, rig.a);

  // One address down: refused there, the other still verifies.
  await rig.services[1]!.stop();
  assert.ok(await refused(rig.addresses[1]!), 'address 1 refuses connections');
  assert.ok(!(await refused(rig.addresses[0]!)), 'address 0 accepts');
  assert.ok((await opensslDaneVerify('127.0.0.1', rig.services[0]!.port, undefined, DOMAIN, [tlsaOfLeaf(rig.a)])).ok);
  await rig.services[1]!.start();

  // Stale secondary: it serves the old record; nothing presented matches it; the primary is right.
  const old = await rig.makeSecondaryStale();
  assert.deepEqual(await readTlsa(dnssec.child.secondary!, OWNER), [old]);
  assert.deepEqual(await readTlsa(dnssec.child.primary, OWNER), [tlsaOfLeaf(rig.a)]);
  assert.notEqual(await dnssec.child.serial(dnssec.child.secondary), await dnssec.child.serial(), 'the secondary is behind by serial');
  assert.deepEqual(await daneMatrix(rig), matrixOf(rig, (_a, server) => server === rig.servers[0]), 'every address fails against the secondary only');
  await dnssec.child.releaseSecondary();
  await assertServedEverywhere(dnssec.servers, [tlsaOfLeaf(rig.a)]);

  // A DNS server down: no reply from the secondary, the primary answers.
  await dnssec.child.stopSecondary();
  assert.equal((await dig(dnssec.child.secondary!, OWNER, 'TLSA')).status, 'NO-REPLY');
  assert.equal((await dig(dnssec.child.primary, OWNER, 'TLSA')).status, 'NOERROR');
});

test('control: short signature validity, no DS, bogus DS, unsigned child — as dig, delv and Unbound see them', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  const record = `${OWNER} 60 IN TLSA 3 1 1 ${'ab'.repeat(32)}`;

  // RRSIG validity 2 days: every RRSIG on both servers expires within 2 days (but not yet), and the
  // chain still validates: a WARNING case, not a failure.
  const short = await startDnssecRig(t, { signaturesValidity: 2 * 86_400, records: [record] });
  const left = (await Promise.all(short.servers.map(rrsigDays))).flat();
  assert.ok(left.length === 2 && left.every((d) => d > 0.5 && d <= 2), `RRSIG days left: ${left}`);
  assert.equal((await short.delv(OWNER, 'TLSA')).verdict, 'validated');

  // BIND's default policy (14 d validity, refresh 5 d): a freshly signed RRSIG already has < 14 d
  // left, so a 14-day threshold on RRSIGs would flag every healthy BIND-default zone.
  const dflt = await startDnssecRig(t, { records: [record], secondary: false });
  const dfltLeft = await rrsigDays(dflt.child.primary);
  reportFigures(`check-rigs: RRSIG days left, validity 2d: ${left.map((d) => d.toFixed(2)).join(',')}; BIND default policy (fresh): ${dfltLeft.map((d) => d.toFixed(2)).join(',')}`);
  assert.ok(dfltLeft.every((d) => d > 10 && d < 14), `default policy days left: ${dfltLeft}`);

  // No DS at the (signed) parent: the parent proves there is none, the child is signed but
  // insecure: delv says "unsigned answer", Unbound answers without AD.
  const noDs = await startDnssecRig(t, { ds: 'none', records: [record] });
  const dsAnswer = await dig(noDs.parent.primary, CHILD, 'DS', ['+dnssec']);
  assert.equal(dsAnswer.status, 'NOERROR');
  assert.deepEqual(rdataOf(dsAnswer, 'DS'), [], 'no DS');
  assert.ok((await rrsigDays(noDs.child.primary)).length > 0, 'the child itself is signed');
  assert.equal((await noDs.delv(OWNER, 'TLSA')).verdict, 'unsigned');
  const insecure = await noDs.unbound.resolve(OWNER, 'TLSA');
  assert.equal(insecure.status, 'NOERROR');
  assert.ok(!insecure.flags.includes('ad'), 'no AD without a DS');
  // Control of the control: the parent itself validates (AD), so "insecure" is proven, not bogus.
  assert.ok((await noDs.unbound.resolve(PARENT, 'SOA')).flags.includes('ad'));

  // A DS that matches no key of the child: bogus, Unbound answers SERVFAIL.
  const bogus = await startDnssecRig(t, { ds: 'bogus', records: [record] });
  assert.equal((await bogus.unbound.resolve(OWNER, 'TLSA')).status, 'SERVFAIL');
  assert.equal((await bogus.delv(OWNER, 'TLSA')).verdict, 'failed');

  // Unsigned child (and no DS): no RRSIG, no DNSKEY anywhere; the answer is insecure.
  const unsigned = await startDnssecRig(t, { signed: false, records: [record] });
  for (const s of unsigned.servers) {
    assert.deepEqual(await rrsigDays(s), [], `no RRSIG at ${s.port}`);
    assert.deepEqual(rdataOf(await dig(s, CHILD, 'DNSKEY'), 'DNSKEY'), [], `no DNSKEY at ${s.port}`);
  }
  assert.equal((await unsigned.delv(OWNER, 'TLSA')).verdict, 'unsigned');
  assert.ok(!(await unsigned.unbound.resolve(OWNER, 'TLSA')).flags.includes('ad'));
});
