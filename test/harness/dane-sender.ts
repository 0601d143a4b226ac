// A DANE-enforcing Postfix sender: a second postfix instance (postfix.ts) whose smtp client
// insists on DANE (security level dane, DNSSEC lookups) and resolves through a validating Unbound,
// seen by glibc via a resolv.conf bind-mounted in a private mount namespace. Its mail log is the
// verdict: every delivery attempt is logged as sent, deferred or bounced, with the TLS reason.
import { execFile } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';
import { startPostfix, type PostfixInstance } from './postfix.js';
import type { HarnessContext } from './tempdir.js';

const run = promisify(execFile);

/** main.cf for a receiving instance that accepts every message and throws it away. */
export const SINK_MAIN: Record<string, string> = { default_transport: 'discard:sink', relay_transport: 'discard:sink' };

/**
 * Pure: argv that runs `argv` in a private mount namespace where /etc/resolv.conf is `resolvConf`
 * (glibc reads only that path; the rest of the machine keeps its own). The network is shared, so
 * the namespace reaches the test's DNS servers and SMTP listeners on loopback.
 */
export function inResolverNamespace(resolvConf: string, argv: string[]): string[] {
  return [
    binaryPath('unshare'), '--mount', '--propagation', 'private',
    'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolvConf, ...argv,
  ];
}

export interface DaneSenderOptions {
  /** resolv.conf of the validating resolver (UnboundHandle.resolvConfPath). */
  resolvConf: string;
  /** The next hop every message goes to: `smtp:[host]:port`, DANE applies to a bracketed host whose A record validates. */
  relayHost: string;
  relayPort: number;
  /** Recipient domain routed there (default example.test). */
  domain?: string;
}

export interface DaneSender {
  postfix: PostfixInstance;
  resolvConf: string;
  relayHost: string;
  relayPort: number;
  /** I/O: submit one message with sendmail (queued at once; delivery is logged in the maillog). */
  submit(subject: string): Promise<void>;
  /** I/O: count delivery outcomes in the mail log so far. */
  outcomes(): Outcomes;
  /** I/O: `posttls-finger -c -l dane [host]:port` in the same namespace (an independent DANE client). */
  finger(): Promise<{ verified: boolean; output: string }>;
}

export interface Outcomes {
  sent: number;
  deferred: number;
  bounced: number;
  /** "Verified TLS connection established": deliveries whose TLS was authenticated by DANE. */
  verified: number;
  /** Deferral reason when the peer's certificate matched no usable TLSA record. */
  notVerified: number;
  /** The matching failure itself (num=65 in the TLS log). */
  noMatchingTlsa: number;
  /** The log lines of deferrals and bounces, for reports. */
  failures: string[];
}

/** Pure: outcome counts from postfix mail log text. */
export function countOutcomes(log: string): Outcomes {
  const lines = log.split('\n');
  const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
  return {
    sent: count(/ status=sent /),
    deferred: count(/ status=deferred /),
    bounced: count(/ status=bounced /),
    verified: count(/Verified TLS connection established/),
    notVerified: count(/Server certificate not verified/),
    noMatchingTlsa: count(/no matching DANE TLSA records/),
    failures: lines.filter((l) => / status=(deferred|bounced) /.test(l)),
  };
}

/** I/O: start the sender; stopped and removed by `t.after`. Needs postfix, unshare, mount, sendmail. */
export async function startDaneSender(t: HarnessContext, opts: DaneSenderOptions): Promise<DaneSender> {
  const domain = opts.domain ?? 'example.test';
  const nexthop = `smtp:[${opts.relayHost}]:${opts.relayPort}`;
  const postfix = await startPostfix(t, {
    name: 'postfix-dane-sender',
    ipv6: false,
    myhostname: 'sender.example.test', // not the receiver's name, or postfix sees a mail loop
    maillogFile: true,
    main: {
      smtp_dns_support_level: 'dnssec',
      smtp_tls_security_level: 'dane',
      smtp_tls_loglevel: '1',
      smtp_host_lookup: 'dns',
      transport_maps: `inline:{ ${domain}=${nexthop} }`,
      // Our own queue only: never hand anything else to a real destination.
      default_transport: 'error:not a test destination',
    },
    services: ['smtp unix - - n - - smtp'],
    wrapCommand: (argv) => inResolverNamespace(opts.resolvConf, argv),
  });
  return {
    postfix,
    resolvConf: opts.resolvConf,
    relayHost: opts.relayHost,
    relayPort: opts.relayPort,
    async submit(subject) {
      const message = `From: danehook-test@sender.example.test\nTo: rcpt@${domain}\nSubject: ${subject}\n\n${subject}\n`;
      await new Promise<void>((resolve, reject) => {
        const child = execFile(binaryPath('sendmail'), ['-C', postfix.configDir, '-f', 'danehook-test@sender.example.test', `rcpt@${domain}`], { timeout: 15_000 }, (err, _o, stderr) =>
          err ? reject(new Error(`sendmail: ${err.message} ${stderr}`)) : resolve());
        child.stdin?.end(message);
      });
    },
    outcomes: () => countOutcomes(existsSync(postfix.maillogPath) ? readFileSync(postfix.maillogPath, 'utf8') : ''),
    async finger() {
      const [cmd, ...args] = inResolverNamespace(opts.resolvConf, [binaryPath('posttls-finger'), '-c', '-l', 'dane', `[${opts.relayHost}]:${opts.relayPort}`]);
      // MAIL_CONFIG: it reads a main.cf (ours; /etc/postfix may have none).
      const { stdout, stderr } = await run(cmd!, args, { timeout: 30_000, env: { ...process.env, MAIL_CONFIG: postfix.configDir } }).catch((e) => ({ stdout: String(e.stdout ?? ''), stderr: String(e.stderr ?? e.message) }));
      const output = stdout + stderr;
      return { verified: /Verified TLS connection established/.test(output), output };
    },
  };
}
