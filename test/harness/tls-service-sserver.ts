// `openssl s_server` as an implicit-TLS service with one or two certificates (-cert, -dcert): a
// second TLS stack beside postfix's configuration, and one that can be held to TLS 1.2 only, where
// the cipher suite (ECDHE-RSA vs ECDHE-ECDSA) picks the certificate.
import { connect } from 'node:net';
import { join } from 'node:path';
import type { CertFiles } from './certs.js';
import { freePort } from './ports.js';
import { startDaemon } from './process.js';
import { makeTempDir, registerCleanup, type HarnessContext } from './tempdir.js';

export interface SServerOptions {
  /** One or two leaves, each served with its own chain (fullchainPath minus the leaf). */
  certs: [CertFiles] | [CertFiles, CertFiles];
  /** Only TLS 1.2 (-tls1_2); default: OpenSSL's range (1.2 and 1.3). */
  tls12Only?: boolean;
  /** Listen on this port (e.g. the port of an instance stopped before); default a free one. */
  port?: number;
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export interface SServer {
  host: string;
  port: number;
  /** I/O: stop it (connections to the port are then refused). */
  stop(): Promise<void>;
  /** I/O: start it again on the same port with the same certificates. */
  start(): Promise<void>;
}

/** I/O: start it on a free 127.0.0.1 port; stopped by PID in `t.after`. Caller checks requireBinaries(t, ['openssl']). */
export async function startOpensslServer(t: HarnessContext, opts: SServerOptions): Promise<SServer> {
  const dir = makeTempDir('sserver');
  const port = opts.port ?? await freePort();
  const [first, second] = opts.certs;
  // -cert_chain/-dcert_chain take the issuers; fullchainPath holds the leaf first, which is harmless.
  const args = [
    's_server', '-accept', String(port), '-naccept', '1000000', '-quiet',
    '-cert', first.certPath, '-key', first.keyPath, '-cert_chain', first.fullchainPath,
    ...(second ? ['-dcert', second.certPath, '-dkey', second.keyPath, '-dcert_chain', second.fullchainPath] : []),
    ...(opts.tls12Only ? ['-tls1_2'] : []),
  ];
  const launch = () => startDaemon({ name: 'openssl-s_server', command: 'openssl', args, logPath: join(dir, 's_server.log'), ready: () => accepts('127.0.0.1', port) });
  let daemon = await launch();
  registerCleanup(t, dir, () => [daemon]);
  return {
    host: '127.0.0.1',
    port,
    stop: () => daemon.stop(),
    async start() {
      if (!daemon.exited) return;
      daemon = await launch();
    },
  };
}
