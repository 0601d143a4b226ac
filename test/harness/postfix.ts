// A real postfix (Debian's, 3.7) from a private config_directory + queue_directory in a temp dir,
// on free loopback ports, without touching /etc/postfix: SMTP with STARTTLS (RFC 3207) and an
// implicit-TLS smtps listener. Several instances run side by side (one queue dir each).
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { startDaemon, type Daemon } from './process.js';
import { makeTempDir, registerCleanup, type HarnessContext } from './tempdir.js';
import { readBanner } from './tls-service.js';

const run = promisify(execFile);

export interface PostfixOptions {
  /** Key followed by full chain (smtpd_tls_chain_files). Omit for a server without TLS (no STARTTLS offered). */
  combinedPem?: string;
  /**
   * Several key+chain files instead, e.g. ECDSA and RSA side by side (`smtpd_tls_chain_files =
   * ecdsa.pem, rsa.pem`): each written as `file` in the instance dir, listed in this order.
   */
  chains?: { file: string; pem: string }[];
  /** Also listen on ::1 (inet_protocols = all). Default true. */
  ipv6?: boolean;
  myhostname?: string;
  /** Listen only on this address (e.g. 127.0.0.2: another "host" behind the same name); implies IPv4 only. */
  address?: string;
  /** Extra main.cf settings, applied last (e.g. a DANE-enforcing smtp client: dane-sender.ts). */
  main?: Record<string, string>;
  /** Extra master.cf lines (e.g. the smtp client service a sending instance needs). */
  services?: string[];
  /** Log to DIR/maillog (maillogPath) instead of the daemon log, so deliveries can be counted alone. */
  maillogFile?: boolean;
  /** Daemon name in logs (default "postfix"). */
  name?: string;
  /** Rewrites the argv that starts the master (e.g. into a private mount namespace: dane-sender.ts). */
  wrapCommand?: (argv: string[]) => string[];
}

export interface PostfixInstance {
  dir: string;
  configDir: string;
  host: string;
  /** SMTP with STARTTLS (smtpd_tls_security_level = may). */
  smtpPort: number;
  /** Implicit TLS (smtpd_tls_wrappermode, as on port 465); undefined without TLS. */
  smtpsPort: number | undefined;
  /** The (first) file smtpd_tls_chain_files points at. */
  chainFile: string;
  /** Where the mail log goes (the daemon log unless `maillogFile`). */
  maillogPath: string;
  /** Every file smtpd_tls_chain_files lists, in order (one with `combinedPem`). */
  chainFiles: string[];
  daemon: Daemon;
  /** I/O: replace the key+chain file atomically (the service keeps serving the old one until reload). */
  installCert(combinedPem: string): void;
  /** I/O: `postfix -c DIR reload`; new smtpd processes read the new file (~0.13 s later). */
  reload(): Promise<void>;
  /** I/O: stop this instance (postfix stop, then our own process by PID). */
  stop(): Promise<void>;
  log(): string;
}

function postconfEdits(values: Record<string, string>): string {
  return Object.entries(values).map(([k, v]) => `${k} = ${v}`).join('\n');
}

/** I/O: start postfix; stopped and its dir removed by `t.after`. Caller checks requireBinaries(t, ['postfix']). */
export async function startPostfix(t: HarnessContext, opts: PostfixOptions = {}): Promise<PostfixInstance> {
  const dir = makeTempDir('postfix');
  // postfix daemons run as the postfix user and must traverse to their queue directory.
  chmodSync(dir, 0o755);
  const configDir = join(dir, 'etc');
  const queueDir = join(dir, 'queue');
  const dataDir = join(dir, 'data');
  for (const d of [configDir, queueDir, dataDir]) mkdirSync(d, { mode: 0o755 });
  if (opts.combinedPem !== undefined && opts.chains) throw new Error('startPostfix: give combinedPem or chains, not both');
  const chains = opts.chains ?? (opts.combinedPem !== undefined ? [{ file: 'chain.pem', pem: opts.combinedPem }] : []);
  const chainFiles = chains.map((c) => join(dir, c.file));
  const chainFile = chainFiles[0] ?? join(dir, 'chain.pem');
  const tls = chains.length > 0;
  chains.forEach((c, i) => writeFileSync(chainFiles[i]!, c.pem, { mode: 0o600 }));
  const ipv6 = opts.ipv6 ?? true;
  const smtpPort = await freePort();
  const smtpsPort = tls ? await freePort() : undefined;
  const maillogPath = opts.maillogFile ? join(dir, 'maillog') : join(dir, 'postfix.log');

  // main.cf: Debian's template plus our private paths (FACTS.md: /etc/postfix/main.cf may be missing).
  copyFileSync('/usr/share/postfix/main.cf.debian', join(configDir, 'main.cf'));
  const main = readFileSync(join(configDir, 'main.cf'), 'utf8');
  writeFileSync(
    join(configDir, 'main.cf'),
    `${main}\n# danehook test instance\n${postconfEdits({
      queue_directory: queueDir,
      data_directory: dataDir,
      // postfix accepts only assigned addresses in inet_interfaces; an explicit host in master.cf
      // (below) binds any address the kernel allows, such as 127.0.0.2 on lo.
      inet_interfaces: opts.address ? 'all' : 'loopback-only',
      inet_protocols: ipv6 && !opts.address ? 'all' : 'ipv4',
      myhostname: opts.myhostname ?? 'mx.test.example',
      mydestination: '',
      alias_maps: '',
      alias_database: '',
      local_recipient_maps: '',
      mynetworks: '127.0.0.0/8 [::1]/128',
      maillog_file: opts.maillogFile ? maillogPath : '/dev/stdout',
      // postlogd writes only below these prefixes.
      ...(opts.maillogFile ? { maillog_file_prefixes: dir } : {}),
      smtpd_tls_security_level: tls ? 'may' : 'none',
      ...(tls ? { smtpd_tls_chain_files: chainFiles.join(', ') } : {}),
      smtpd_tls_loglevel: '1',
      smtputf8_enable: 'no',
      ...opts.main,
    })}\n`,
  );
  // master.cf: the services smtpd needs, none chrooted (the temp dir is not a chroot jail).
  // Listening on a bare port binds every inet_interfaces address (127.0.0.1 and ::1).
  const listen = opts.address ? `${opts.address}:` : '';
  const services = [
    `${listen}${smtpPort} inet n - n - - smtpd`,
    ...(tls ? [`${listen}${smtpsPort} inet n - n - - smtpd`, '  -o smtpd_tls_wrappermode=yes', '  -o smtpd_tls_security_level=encrypt'] : []),
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'tlsmgr unix - - n 1000? 1 tlsmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'proxymap unix - - n - - proxymap',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
    ...(opts.services ?? []),
  ];
  writeFileSync(join(configDir, 'master.cf'), `${services.join('\n')}\n`);
  // `postfix start-fg` creates the queue subdirectories itself (postfix-script check-fatal →
  // post-install create-missing), with postfix's ownership and modes.
  chownSync(dataDir, postfixUid(), -1); // data_directory belongs to mail_owner

  const [command, ...args] = (opts.wrapCommand ?? ((a: string[]) => a))(['postfix', '-c', configDir, 'start-fg']);
  const daemon = await startDaemon({
    name: opts.name ?? 'postfix',
    command: command!,
    args,
    logPath: join(dir, 'postfix.log'),
    ready: async () => /^220[ -]/.test(await readBanner(opts.address ?? '127.0.0.1', smtpPort)),
  });

  const masterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(queueDir, 'pid', 'master.pid'), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  // `postfix start-fg` runs postfix-script, which runs the master as its child: signalling only
  // our child would orphan the master. Stop the master of *this* instance (its pid file is in
  // our queue dir), then make sure our own child is gone.
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!daemon.exited) {
      await run('postfix', ['-c', configDir, 'stop']).catch(() => {
        const pid = masterPid();
        if (pid !== undefined) {
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            // already gone
          }
        }
      });
    }
    await daemon.stop();
  };
  const wrapped: Daemon = {
    name: daemon.name,
    pid: daemon.pid,
    logPath: daemon.logPath,
    get exited() {
      return daemon.exited;
    },
    get crashed() {
      return daemon.crashed && !stopped;
    },
    log: () => daemon.log(),
    stop,
  };
  registerCleanup(t, dir, () => [wrapped]);

  return {
    dir,
    configDir,
    host: opts.address ?? '127.0.0.1',
    smtpPort,
    smtpsPort,
    chainFile,
    maillogPath,
    chainFiles,
    daemon: wrapped,
    installCert(combinedPem: string) {
      const tmp = `${chainFile}.new`;
      writeFileSync(tmp, combinedPem, { mode: 0o600 });
      renameSync(tmp, chainFile);
    },
    async reload() {
      await run('postfix', ['-c', configDir, 'reload']);
    },
    stop,
    log: () => daemon.log(),
  };
}

function postfixUid(): number {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postfix:'));
  const uid = line ? Number(line.split(':')[2]) : NaN;
  if (!Number.isInteger(uid)) throw new Error('no postfix user in /etc/passwd (is the postfix package installed?)');
  return uid;
}
