#!/usr/bin/env node
// ACME-client hook for tests and fixture capture: records argv, cwd and the client's variables
// (LEGO_*, RENEWED_*, acme.sh names) to OUTDIR/<n>/invocation.json and copies every file they name.
// Usage: dump-hook.mjs OUTDIR [client args...]; exits 0 for any handler (dehydrated calls many).
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [outDir, ...args] = process.argv.slice(2);
// Only the variables ACME clients hand to hooks: the rest of the environment is never written.
const KEEP = /^(LEGO_|RENEWED_|CERT_|CA_CERT_PATH$|Le_|DOMAIN_PATH$)/;
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => KEEP.test(k)).sort());

mkdirSync(outDir, { recursive: true });
const n = readdirSync(outDir).length;
const dir = join(outDir, String(n).padStart(2, '0'));
mkdirSync(join(dir, 'files'), { recursive: true });

// Copy as plain files (certbot's live/ entries are symlinks) so the record survives the client dir.
const copies = {};
const candidates = [...Object.values(env), ...args];
for (const p of candidates) {
  if (!p.startsWith('/') || copies[p] || !existsSync(p)) continue;
  const st = statSync(p);
  if (st.isFile()) {
    const name = `${Object.keys(copies).length}-${p.split('/').pop()}`;
    copyFileSync(p, join(dir, 'files', name));
    copies[p] = name;
  } else if (st.isDirectory()) {
    copies[p] = { dir: readdirSync(p).sort() };
    for (const f of readdirSync(p)) {
      const fp = join(p, f);
      if (statSync(fp).isFile()) {
        const name = `${Object.keys(copies).length}-${f}`;
        copyFileSync(fp, join(dir, 'files', name));
        copies[fp] = name;
      }
    }
  }
}
writeFileSync(join(dir, 'invocation.json'), JSON.stringify({ argv: args, cwd: process.cwd(), env, copies }, null, 2));
