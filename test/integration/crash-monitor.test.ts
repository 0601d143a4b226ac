// The outage monitor can fail: against real BIND and postfix (no danehook involved), it reports
// no violation while the served RRset matches the presented certificate (3 1 1 and 3 0 1), reports
// one when the RRset matches nothing presented, and keeps reporting for a TTL after DNS and the
// certificate were switched at the same instant (a resolver may still hold the old RRset).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { startPostfix } from '../harness/postfix.js';
import { nsupdate } from '../harness/dns.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir } from '../harness/certs.js';
import { fetchPresented, startOutageMonitor, tlsaMatches } from '../harness/outage-monitor.js';

const TTL = 3;
const OWNER = '_25._tcp.mx.example.test.';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('outage monitor: clean when DNS matches, violation on mismatch and for a TTL after a simultaneous switch', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'nsupdate', 'postfix', 'openssl'])) return;
  const bind = await startBind(t, { zone: 'example.test', ttl: TTL, secondary: true });
  const ca = makeCa('Monitor Root');
  t.after(() => removeCertDir(ca));
  const inter = makeIntermediate(ca, 'Monitor Intermediate');
  const [a, b, c] = [1, 2, 3].map(() => makeLeaf(inter, ['mx.example.test']));
  const t311 = (l: typeof a) => `3 1 1 ${opensslAssociation(l!.certPath, 1, 1)}`;
  const t301 = (l: typeof a) => `3 0 1 ${createHash('sha256').update(l!.der).digest('hex')}`;
  const pf = await startPostfix(t, { combinedPem: readFileSync(a!.combinedPath, 'utf8'), ipv6: false });

  // The presented-certificate reader agrees with openssl.
  const p = await fetchPresented({ host: '127.0.0.1', port: pf.smtpPort, mode: 'smtp', servername: 'mx.example.test' });
  assert.equal(p.spkiSha256, opensslAssociation(a!.certPath, 1, 1));
  assert.ok(tlsaMatches(t311(a), p) && tlsaMatches(t301(a), p) && !tlsaMatches(t311(b), p) && !tlsaMatches(`2 1 1 ${p.spkiSha256}`, p));

  const set = async (records: string[]) => {
    const r = await nsupdate(bind.primary, bind.zone, bind.keyFilePath, [`update delete ${OWNER} TLSA`, ...records.map((x) => `update add ${OWNER} ${TTL} TLSA ${x}`)]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(await bind.waitForSecondarySync());
  };
  const monitor = startOutageMonitor({
    servers: [{ name: 'primary', ...bind.primary }, { name: 'secondary', ...bind.secondary! }],
    endpoints: [
      { name: 'smtp', host: '127.0.0.1', port: pf.smtpPort, mode: 'smtp', owner: OWNER, servername: 'mx.example.test' },
      { name: 'smtps', host: '127.0.0.1', port: pf.smtpsPort!, mode: 'tls', owner: OWNER, servername: 'mx.example.test' },
    ],
    ttlSeconds: TTL,
  });
  try {
    // 1. No RRset, then A's 3 1 1 and 3 0 1 records: clean.
    await monitor.waitSamples(3);
    await set([t311(a)]);
    await monitor.waitSamples(5);
    await set([t301(a), t311(c)]);
    await monitor.waitSamples(5);
    assert.equal(monitor.report().violations, 0, monitor.report().details.join('\n'));

    // 2. Back to A alone (wait out the window with C in it), then switch DNS and postfix to B at once:
    //    nothing served *now* disagrees, but A-only answers may be cached for a TTL.
    await set([t311(a)]);
    await sleep(TTL * 1000 + 500);
    await monitor.waitSamples(2);
    assert.equal(monitor.report().violations, 0, monitor.report().details.join('\n'));
    await set([t311(b)]);
    pf.installCert(readFileSync(b!.combinedPath, 'utf8'));
    await pf.reload();
    const switchedAt = Date.now();
    const bSpki = opensslAssociation(b!.certPath, 1, 1);
    for (let i = 0; i < 40; i++) {
      const now = await fetchPresented({ host: '127.0.0.1', port: pf.smtpsPort!, mode: 'tls' });
      const now2 = await fetchPresented({ host: '127.0.0.1', port: pf.smtpPort, mode: 'smtp' });
      if (now.spkiSha256 === bSpki && now2.spkiSha256 === bSpki) break;
      await sleep(50);
    }
    // From here on, DNS serves {B} and postfix presents B: only the cached-window rule can fire.
    const consistentAt = Date.now();
    const before = monitor.report().violations;
    await monitor.waitSamples(3);
    assert.ok(Date.now() - switchedAt < TTL * 1000, `the check ran within the TTL (${Date.now() - switchedAt} ms)`);
    const during = monitor.report();
    assert.ok(during.violations > before, `an RRset served within the last TTL still counts (${consistentAt - switchedAt} ms after the switch)`);
    assert.match(during.details.join('\n'), /presents SPKI .* but (primary|secondary) served _25\._tcp\.mx\.example\.test\. TLSA/);
    // 3. A TTL later the window has drained: clean again.
    await sleep(Math.max(0, switchedAt + TTL * 1000 + 700 - Date.now()));
    const settled = monitor.report().violations;
    await monitor.waitSamples(5);
    assert.equal(monitor.report().violations, settled, `no new violations once the old RRset expired:\n${monitor.report().details.slice(-3).join('\n')}`);

    // 4. A plain mismatch (DNS names C while postfix presents B) is a violation at once.
    await set([t311(c)]);
    await monitor.waitSamples(3);
    assert.ok(monitor.report().violations > settled, 'a mismatching RRset is a violation');
  } finally {
    const rep = await monitor.stop();
    console.log(`crash-monitor: samples=${rep.samples} violations=${rep.violations} probeErrors=${rep.probeErrors} dnsErrors=${rep.dnsErrors}`);
  }
});
