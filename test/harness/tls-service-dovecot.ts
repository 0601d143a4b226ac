// A real dovecot (Debian dovecot-imapd + dovecot-pop3d, 2.3) from a temp dir: IMAP and POP3 with
// STARTTLS/STLS (RFC 2595) and their implicit-TLS ports, on free loopback ports (127.0.0.1, ::1),
// with private base_dir/state_dir so several instances run at once; reload = SIGHUP to our PID.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from './ports.js';
import { startDaemon, type Daemon } from './process.js';
import { makeTempDir, registerCleanup, type HarnessContext } from './tempdir.js';
import { readBanner, swapCertFiles } from './tls-service.js';

export interface DovecotOptions {
  fullchainPem: string;
  keyPem: string;
  /** false: no TLS at all (STARTTLS/STLS not offered, no implicit-TLS ports). Default true. */
  tls?: boolean;
}

export interface DovecotInstance {
  dir: string;
  host: string;
  imapPort: number;
  pop3Port: number;
  /** Implicit TLS (as 993/995); undefined without TLS. */
  imapsPort: number | undefined;
  pop3sPort: number | undefined;
  daemon: Daemon;
  installCert(fullchainPem: string, keyPem: string): void;
  /** I/O: SIGHUP to the dovecot master we started: it re-reads the config and the certificate files. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** I/O: start dovecot; stopped and removed by `t.after`. Caller checks requireBinaries(t, ['dovecot']). */
export async function startDovecot(t: HarnessContext, opts: DovecotOptions): Promise<DovecotInstance> {
  const tls = opts.tls ?? true;
  const dir = makeTempDir('dovecot');
  chmodSync(dir, 0o755); // login processes run as dovenull
  mkdirSync(join(dir, 'state'));
  mkdirSync(join(dir, 'mail'));
  const certFile = join(dir, 'fullchain.pem');
  const keyFile = join(dir, 'key.pem');
  writeFileSync(certFile, opts.fullchainPem);
  writeFileSync(keyFile, opts.keyPem, { mode: 0o600 });
  const [imapPort, pop3Port] = [await freePort(), await freePort()];
  const imapsPort = tls ? await freePort() : undefined;
  const pop3sPort = tls ? await freePort() : undefined;
  const listener = (name: string, port: number | undefined, ssl: boolean) =>
    port === undefined ? '' : `  inet_listener ${name} {\n    port = ${port}\n${ssl ? '    ssl = yes\n' : ''}  }\n`;
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    `# danehook test instance: nothing here reads /etc/dovecot
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = danehook-${randomBytes(4).toString('hex')}
protocols = imap pop3
listen = 127.0.0.1, ::1
log_path = /dev/stderr
ssl = ${tls ? 'yes' : 'no'}
${tls ? `ssl_cert = <${certFile}\nssl_key = <${keyFile}\n` : ''}default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:${dir}/mail/%u
passdb {
  driver = static
  args = password=${randomBytes(12).toString('hex')}
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=${dir}/mail/%u
}
service imap-login {
${listener('imap', imapPort, false)}${listener('imaps', imapsPort, true)}}
service pop3-login {
${listener('pop3', pop3Port, false)}${listener('pop3s', pop3sPort, true)}}
`,
  );
  const daemon = await startDaemon({
    name: 'dovecot',
    command: 'dovecot',
    args: ['-F', '-c', conf],
    logPath: join(dir, 'dovecot.log'),
    ready: async () => (await readBanner('127.0.0.1', imapPort)).startsWith('* OK') && (await readBanner('127.0.0.1', pop3Port)).startsWith('+OK'),
  });
  registerCleanup(t, dir, () => [daemon]);
  return {
    dir,
    host: '127.0.0.1',
    imapPort,
    pop3Port,
    imapsPort,
    pop3sPort,
    daemon,
    installCert(fullchainPem: string, keyPem: string) {
      swapCertFiles(certFile, keyFile, fullchainPem, keyPem);
    },
    async reload() {
      process.kill(daemon.pid, 'SIGHUP');
    },
    stop: () => daemon.stop(),
  };
}
