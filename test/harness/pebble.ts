// Real ACME server (pebble) on loopback with its own openssl-made TLS certificate, and runners for
// the real ACME clients (lego, certbot, dehydrated) against it, each in its own temp directories.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';
import { freePort } from './ports.js';
import { startDaemon, type Daemon } from './process.js';
import { makeTempDir, registerCleanup, type HarnessContext } from './tempdir.js';

const run = promisify(execFile);

export interface PebbleHandle {
  /** ACME directory URL, e.g. https://127.0.0.1:N/dir */
  directoryUrl: string;
  /** CA bundle that verifies pebble's HTTPS (not the certificates pebble issues). */
  caBundlePath: string;
  tempDir: string;
  daemon: Daemon;
  /** PEM of the root that signs issued certificates (from pebble's management API). */
  issuingRootPem(): Promise<string>;
  stop(): Promise<void>;
}

async function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** A throwaway CA and a server certificate for 127.0.0.1/localhost, made with openssl. */
async function makeTlsCert(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const openssl = binaryPath('openssl');
  const p = (f: string) => join(dir, f);
  await run(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
    '-subj', '/CN=danehook test pebble CA', '-keyout', p('tls-ca.key'), '-out', p('tls-ca.pem')]);
  await run(openssl, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=localhost', '-keyout', p('tls.key'), '-out', p('tls.csr')]);
  writeFileSync(p('tls.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await run(openssl, ['x509', '-req', '-in', p('tls.csr'), '-CA', p('tls-ca.pem'), '-CAkey', p('tls-ca.key'),
    '-CAcreateserial', '-days', '30', '-extfile', p('tls.ext'), '-out', p('tls.pem')]);
  return { ca: p('tls-ca.pem'), cert: p('tls.pem'), key: p('tls.key') };
}

export async function startPebble(t: HarnessContext): Promise<PebbleHandle> {
  const pebble = binaryPath('pebble');
  const tempDir = makeTempDir('pebble');
  const tls = await makeTlsCert(tempDir);
  const [port, mgmtPort, httpPort, tlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const config = join(tempDir, 'pebble.json');
  writeFileSync(config, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${port}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: tls.cert,
      privateKey: tls.key,
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  }, null, 2));
  const caPem = readFileSync(tls.ca, 'utf8');
  const directoryUrl = `https://127.0.0.1:${port}/dir`;
  let daemon: Daemon | undefined;
  registerCleanup(t, tempDir, () => (daemon ? [daemon] : []));
  daemon = await startDaemon({
    name: 'pebble',
    command: pebble,
    args: ['-config', config],
    logPath: join(tempDir, 'pebble.log'),
    cwd: tempDir,
    env: {
      ...process.env,
      PEBBLE_VA_ALWAYS_VALID: '1', // no real HTTP-01 check: clients still run their challenge code
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0', // pebble rejects 5% of nonces by default: flaky for tests
    },
    ready: async () => (await httpsGet(directoryUrl, caPem)).status === 200,
  });
  return {
    directoryUrl,
    caBundlePath: tls.ca,
    tempDir,
    daemon,
    async issuingRootPem() {
      const r = await httpsGet(`https://127.0.0.1:${mgmtPort}/roots/0`, caPem);
      if (r.status !== 200) throw new Error(`pebble /roots/0: HTTP ${r.status}`);
      return r.body;
    },
    stop: () => daemon!.stop(),
  };
}
