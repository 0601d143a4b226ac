// A DANE-enforcing Postfix sender: a second postfix instance (postfix.ts) whose smtp client
// insists on DANE (security level dane, DNSSEC lookups) and resolves through a validating Unbound,
// seen by glibc via a resolv.conf bind-mounted in a private mount namespace. Its mail log is the
// verdict: every delivery attempt is logged as sent, deferred or bounced, with the TLS reason.
import { execFile } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';
import { fetchPresented } from './outage-monitor.js';
import { startPostfix, type PostfixInstance } from './postfix.js';
import type { HarnessContext } from './tempdir.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

export interface MailFlow {
  /** Messages submitted so far. */
  readonly submitted: number;
  /** Of those, sent the moment the receiver was first seen serving a new key. */
  readonly atKeyChange: number;
  /** Each new key the watched endpoint served (SPKI SHA-256) and when it was first seen (ms since epoch). */
  readonly keyChanges: readonly { spki: string; at: number }[];
  /** Stop submitting (after the one in flight); resolves to the number submitted. */
  stop(): Promise<number>;
}

export interface MailFlowOptions {
  everyMs?: number;
  label?: string;
  /** Also watch what this SMTP endpoint presents (every 100 ms) and send one message as soon as its key changes. */
  watch?: { host: string; port: number };
}

/**
 * I/O: submit one message every `everyMs` until stopped. With `watch`, one more message goes out
 * the moment a new key is served: the instant a rollover is most likely to fail (a cache may
 * still hold an RRset without the new key), which a fixed beat could step over.
 */
export function startMailFlow(sender: DaneSender, opts: MailFlowOptions = {}): MailFlow {
  const everyMs = opts.everyMs ?? 500;
  let submitted = 0;
  let atKeyChange = 0;
  const keyChanges: { spki: string; at: number }[] = [];
  let stopped = false;
  const submit = async (what: string) => {
    submitted++;
    await sender.submit(`${opts.label ?? 'flow'} message ${submitted} ${what}`);
  };
  const beat = (async () => {
    while (!stopped) {
      const began = Date.now();
      await submit('(beat)');
      await sleep(Math.max(0, everyMs - (Date.now() - began)));
    }
  })();
  const watcher = (async () => {
    if (!opts.watch) return;
    let last: string | undefined;
    while (!stopped) {
      const p = await fetchPresented({ ...opts.watch, mode: 'smtp' }).catch(() => undefined);
      if (p && last !== undefined && p.spkiSha256 !== last) {
        keyChanges.push({ spki: p.spkiSha256, at: Date.now() });
        atKeyChange++;
        await submit('(key change)');
      }
      if (p) last = p.spkiSha256;
      await sleep(100);
    }
  })();
  const loop = Promise.all([beat, watcher]);
  loop.catch(() => undefined); // reported by stop(), not as an unhandled rejection meanwhile
  return {
    get submitted() {
      return submitted;
    },
    get atKeyChange() {
      return atKeyChange;
    },
    keyChanges,
    async stop() {
      stopped = true;
      await loop;
      return submitted;
    },
  };
}
