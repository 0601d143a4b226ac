// Independent views of a TLS service from the openssl CLI: the chain it presents (`s_client
// -showcerts`, with -starttls for SMTP/IMAP/POP3) and openssl's own DANE verdict for TLSA records
// (`-dane_tlsa_domain`/`-dane_tlsa_rrdata`, RFC 7671), to cross-check the probe and the matcher.
import { execFile } from 'node:child_process';

export type StartTls = 'smtp' | 'imap' | 'pop3' | undefined;

interface SClientResult {
  stdout: string;
  stderr: string;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** I/O: run `openssl s_client` with stdin at EOF (it completes the handshake, prints, quits). */
function runSClient(args: string[], timeoutMs = 15000): Promise<SClientResult> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', ['s_client', ...args], { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      // s_client exits 1 on some verification setups even after a full handshake; callers judge the output.
      if (err && (err as { killed?: boolean }).killed) reject(new Error(`openssl s_client timed out: ${args.join(' ')}`));
      else resolve({ stdout, stderr });
    });
    child.stdin?.end();
  });
}

function baseArgs(host: string, port: number, starttls: StartTls, servername?: string): string[] {
  return [
    '-connect', hostPort(host, port),
    ...(starttls ? ['-starttls', starttls] : []),
    ...(servername ? ['-servername', servername] : ['-noservername']),
  ];
}

/** I/O: the DER certificates openssl saw presented, in the order the server sent them (`extraArgs`: e.g. `-sigalgs`). */
export async function opensslPresentedChain(host: string, port: number, starttls: StartTls, servername?: string, extraArgs: string[] = []): Promise<Buffer[]> {
  const { stdout, stderr } = await runSClient([...baseArgs(host, port, starttls, servername), '-showcerts', ...extraArgs]);
  const blocks = [...stdout.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new Error(`openssl s_client saw no certificate:\n${stdout}\n${stderr}`);
  return blocks.map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

export interface OpensslDaneVerdict {
  ok: boolean;
  /** e.g. "Verified peername: mx.example.com" / "DANE TLSA 3 1 1 ...c0ffee matched EE certificate at depth 0" */
  detail: string;
  output: string;
}

/**
 * I/O: openssl's DANE verification of the service against `rrdata` ("3 1 1 <hex>", ...) for
 * `domain`. DANE-EE name checks are off, as RFC 7672 §3.2.1 requires for SMTP.
 */
export async function opensslDaneVerify(host: string, port: number, starttls: StartTls, domain: string, rrdata: string[]): Promise<OpensslDaneVerdict> {
  const args = [...baseArgs(host, port, starttls, domain), '-dane_tlsa_domain', domain, '-dane_ee_no_namechecks', '-verify_return_error'];
  for (const r of rrdata) args.push('-dane_tlsa_rrdata', r);
  const { stdout, stderr } = await runSClient(args);
  const output = `${stdout}\n${stderr}`;
  const ok = /Verification: OK/.test(output) && /Verify return code: 0 \(ok\)/.test(output);
  const detail = (/^DANE TLSA .*$/m.exec(output)?.[0] ?? /^Verification error: .*$/m.exec(output)?.[0] ?? /Verify return code: .*/.exec(output)?.[0] ?? '').trim();
  return { ok, detail, output };
}
