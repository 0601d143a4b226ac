// Independent DANE verification of a live SMTP endpoint: openssl s_client with the TLSA RRset
// (as dig reads it from a given server), and the SHA-256 of the SPKI the endpoint presents.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dig, tlsaOf, type Endpoint } from './dns.js';

const run = promisify(execFile);

/** TLSA RRset at `owner` as `server` serves it, presentation form, lowercase. */
export async function readTlsa(server: Endpoint, owner: string): Promise<string[]> {
  return tlsaOf(await dig(server, owner, 'TLSA')).map((x) => x.toLowerCase()).sort();
}

/**
 * I/O: `openssl s_client -starttls smtp -dane_tlsa_domain NAME -dane_tlsa_rrdata ...`; true on
 * "Verification: OK". `extraArgs`: e.g. `-sigalgs ECDSA+SHA256` to check one of several certificates.
 */
export async function opensslDaneVerify(host: string, port: number, domain: string, rrset: string[], extraArgs: string[] = []): Promise<{ ok: boolean; output: string }> {
  if (rrset.length === 0) return { ok: false, output: 'empty RRset' };
  const args = ['s_client', '-brief', '-starttls', 'smtp', '-connect', `${host}:${port}`, '-servername', domain, ...extraArgs, '-dane_tlsa_domain', domain];
  for (const r of rrset) args.push('-dane_tlsa_rrdata', r);
  const { stdout, stderr } = await run('sh', ['-c', `echo QUIT | openssl ${args.map((a) => `'${a}'`).join(' ')} 2>&1`], { timeout: 15_000 }).catch((e) => ({ stdout: String(e.stdout ?? ''), stderr: String(e.stderr ?? '') }));
  const output = stdout + stderr;
  return { ok: /Verification: OK/.test(output), output };
}

/** I/O: SHA-256 of the SPKI the SMTP endpoint presents (openssl, independent of danehook); `extraArgs` as above. */
export async function presentedSpkiSha256(host: string, port: number, extraArgs: string[] = []): Promise<string> {
  const extra = extraArgs.map((a) => ` '${a}'`).join('');
  const script = `echo QUIT | openssl s_client -starttls smtp -connect ${host}:${port}${extra} 2>/dev/null | openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r`;
  const { stdout } = await run('sh', ['-c', script], { timeout: 15_000 });
  return stdout.split(/\s/)[0]!.toLowerCase();
}
