// 6. Zero-wait renewals (next-key mode): on real BIND (primary + secondary, TTL 2 s), a first deploy
// announces a generated next key; each renewal after it is a certificate for `danehook next-key
// --csr` (signed by openssl), deployed once the key has aged. Counted: renewals activated inside
// their own deploy (target 100 %), and deploy → activated time against one renewal with an
// unannounced key (`deploy --wait`, which must wait 2 × TTL + margin) measured in the same run.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind } from '../harness/bind.js';
import { makeCa, makeLeaf, removeCertDir, signCsr } from '../harness/certs.js';
import { benchContext, CLI, median, runChild, say, sleep, type Row } from './lib.js';

interface StatusEntry {
  next: { phase: string; agedAt: string | null } | null;
  rollovers: { path: string | null; activatedAt: string | null }[];
}

export async function benchZeroWait(opts: { renewals: number }): Promise<Row[]> {
  const t = benchContext();
  const dir = mkdtempSync(join(tmpdir(), 'danehook-bench-zero-'));
  const ca = makeCa('Bench Zero Wait Root');
  try {
    const TTL = 2;
    const bind = await startBind(t, { zone: 'example.test', ttl: TTL, secondary: true });
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    const fullchain = join(dir, 'fullchain.pem');
    const first = makeLeaf(ca, ['mx.example.test']);
    copyFileSync(first.fullchainPath, fullchain);
    const config = join(dir, 'config.json');
    const servers = [bind.primary, bind.secondary!].map((s) => `127.0.0.1:${s.port}`);
    writeFileSync(config, JSON.stringify({
      stateDir,
      dns: { server: servers[0], tsig: { name: 'danehook-key', keyFile: bind.keyFilePath }, nameservers: servers, ttl: TTL, timeout: '2s' },
      rollover: { delayFactor: 2, margin: '1s', propagationTimeout: '60s' },
      certificates: [{ id: 'mx', domains: ['mx.example.test'], ports: [25], nextKey: { mode: 'auto' }, install: { fullchain, key: join(dir, 'key.pem') }, reload: ['true'], probe: { protocol: 'none' }, live: 'none' }],
    }));
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const cli = async (args: string[]) => {
      const r = await runChild(process.execPath, [CLI, ...args, '-c', config], { env, timeoutMs: 90_000 });
      if (r.code !== 0) throw new Error(`danehook ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}`);
      return r;
    };
    const status = async (): Promise<StatusEntry> => JSON.parse((await cli(['status', '--json', '--offline'])).stdout).certificates[0];

    await cli(['deploy', '--wait', '-q', '--pem', first.combinedPath]); // the first issuance: a generated next key is announced
    const atOnce: number[] = [];
    let activatedInDeploy = 0;
    for (let k = 1; k <= opts.renewals; k++) {
      // Timer runs until the next key is served everywhere, then until it has aged.
      for (let st = await status(); ; st = await status()) {
        if (st.next?.phase === 'propagated' && st.next.agedAt) {
          await sleep(Math.max(0, Date.parse(st.next.agedAt) - Date.now()) + 50);
          break;
        }
        await cli(['post-deploy', '-q']);
        await sleep(200);
      }
      const csr = (await cli(['next-key', '--id', 'mx', '--csr', '-q'])).stdout.trim();
      const leaf = signCsr(ca, csr, ['mx.example.test']);
      const r = await cli(['deploy', '-q', '--cert', leaf.fullchainPath]);
      const last = (await status()).rollovers.at(-1)!;
      const inDeploy = last.path === 'next-key' && last.activatedAt !== null;
      if (inDeploy) activatedInDeploy++;
      atOnce.push(r.wallMs);
      say(`zero-wait: renewal ${k}: path ${last.path}, ${inDeploy ? 'activated inside its deploy' : 'NOT activated inside its deploy'} (${r.wallMs.toFixed(0)} ms)`);
    }
    // Baseline: a renewal with an unannounced key in the same setup, deploy --wait until activated.
    const unannounced = makeLeaf(ca, ['mx.example.test']);
    const base = await cli(['deploy', '--wait', '-q', '--pem', unannounced.combinedPath]);
    const share = (activatedInDeploy / opts.renewals) * 100;
    return [
      {
        bench: '6 zero-wait renewals', metric: 'renewals activated without a wait after the first', unit: '%', value: share, runs: opts.renewals,
        target: '100 %', ok: share === 100, note: `${activatedInDeploy} of ${opts.renewals} renewals went live inside their own deploy`,
      },
      {
        bench: '6 zero-wait renewals', metric: 'deploy → activated (aged next key)', unit: 'ms', value: median(atOnce), runs: atOnce.length, samples: atOnce,
        baseline: { name: 'unannounced key, deploy --wait', value: base.wallMs, runs: 1 }, baselineSamples: [base.wallMs],
        ratio: median(atOnce) / base.wallMs, target: '≤ 10 s', ok: median(atOnce) <= 10_000,
        note: `the unannounced key waited 2 × TTL ${TTL} s + margin 1 s after propagation`,
      },
    ];
  } finally {
    await t.close();
    removeCertDir(ca);
    rmSync(dir, { recursive: true, force: true });
  }
}
