// A real nginx (Debian nginx-light) from a temp dir (`-p DIR -c conf`, FACTS.md) serving HTTPS on a
// free loopback port (127.0.0.1 and ::1), without touching /etc/nginx; reload with `-s reload`.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { swapCertFiles } from './tls-service.js';
import { startDaemon, type Daemon } from './process.js';
import { makeTempDir, registerCleanup, type HarnessContext } from './tempdir.js';

const run = promisify(execFile);

export interface NginxOptions {
  /** Certificate followed by its issuers (ssl_certificate). */
  fullchainPem: string;
  keyPem: string;
  ipv6?: boolean;
}

export interface NginxInstance {
  dir: string;
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  daemon: Daemon;
  /** I/O: replace certificate and key files atomically; nginx keeps the old ones until reload. */
  installCert(fullchainPem: string, keyPem: string): void;
  /** I/O: `nginx -p DIR -c conf -s reload` (SIGHUP to this instance's master via its pid file). */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** I/O: a TLS handshake succeeds on host:port. */
function tlsAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, rejectUnauthorized: false }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** I/O: start nginx; stopped and its dir removed by `t.after`. Caller checks requireBinaries(t, ['nginx']). */
export async function startNginx(t: HarnessContext, opts: NginxOptions): Promise<NginxInstance> {
  const dir = makeTempDir('nginx');
  chmodSync(dir, 0o755); // workers run as nobody
  for (const d of ['logs', 'tmp', 'html']) mkdirSync(join(dir, d));
  const certFile = join(dir, 'fullchain.pem');
  const keyFile = join(dir, 'key.pem');
  writeFileSync(certFile, opts.fullchainPem);
  writeFileSync(keyFile, opts.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'html', 'index.html'), 'danehook test\n');
  const port = await freePort();
  const ipv6 = opts.ipv6 ?? true;
  const conf = join(dir, 'nginx.conf');
  // Every path is inside DIR: Debian's compiled-in temp paths (/var/lib/nginx/...) are overridden.
  writeFileSync(
    conf,
    `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
${ipv6 ? `    listen [::1]:${port} ssl;\n` : ''}    server_name localhost;
    ssl_certificate ${certFile};
    ssl_certificate_key ${keyFile};
    root ${dir}/html;
  }
}
`,
  );
  const args = ['-p', dir, '-c', conf];
  const daemon = await startDaemon({
    name: 'nginx',
    command: 'nginx',
    args,
    logPath: join(dir, 'logs', 'stderr.log'),
    ready: () => tlsAnswers('127.0.0.1', port),
  });
  registerCleanup(t, dir, () => [daemon]);
  return {
    dir,
    host: '127.0.0.1',
    port,
    certFile,
    keyFile,
    daemon,
    installCert(fullchainPem: string, keyPem: string) {
      swapCertFiles(certFile, keyFile, fullchainPem, keyPem);
    },
    async reload() {
      await run('nginx', [...args, '-s', 'reload']);
    },
    stop: () => daemon.stop(),
  };
}
