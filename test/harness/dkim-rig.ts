// The whole mail path of a DKIM key rotation, all real: BIND primary + secondary for example.test
// (the TSIG key may update TXT under _domainkey), a caching Unbound, a sending postfix whose mail
// is signed by OpenDKIM or rspamd from files, and a receiving postfix whose OpenDKIM verifies
// through that Unbound and writes Authentication-Results into the delivered (maildir) messages.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';
import { startBind, type BindHandle } from './bind.js';
import {
  generateDkimKey, opendkimTestkey, parseDelivered, publishDkimKey, REVOKED_TXT, unpublishDkimKey,
  type DeliveredMessage, type DkimKey,
} from './dkim.js';
import { startOpenDkimSigner, startOpenDkimVerifier, startRspamdSigner, systemUser, type DkimSigner, type DkimVerifier, type SignerKind, type SystemUser } from './dkim-milters.js';
import { startPostfix, type PostfixInstance } from './postfix.js';
import { waitFor } from './process.js';
import { makeTempDir, registerCleanup, type HarnessContext } from './tempdir.js';
import { startUnbound, type UnboundHandle } from './unbound.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Programs a DKIM rig test needs (pass to requireBinaries), per signer. */
export function dkimRigBinaries(signer: SignerKind): string[] {
  return ['named', 'dig', 'nsupdate', 'rndc', 'unbound', 'postfix', 'postconf', 'postqueue', 'sendmail', 'opendkim', 'opendkim-genkey', 'opendkim-testkey', ...(signer === 'rspamd' ? ['rspamd'] : [])];
}

export const DKIM_DOMAIN = 'example.test';
export const RECEIVER_DOMAIN = 'receiver.test';
/** Default TTL of the selector TXT records (short: a rotation takes seconds; caches count whole seconds). */
export const DKIM_TTL = 2;

export interface DkimRigOptions {
  signer: SignerKind;
  /** TTL of the selector TXT records the rig publishes (default 2 s). */
  ttl?: number;
  /** The zone's default and negative TTL (SOA minimum), default 30 s: how long a cache remembers "no such selector". */
  negativeTtl?: number;
  /** rspamd only: name the key by `path` template (default) or by a second map file (see startRspamdSigner). */
  rspamdMaps?: 'selector' | 'selector+path';
}

export interface DkimResults {
  /** dkim= results in the verifier's Authentication-Results of delivered messages. */
  pass: number;
  fail: number;
  temperror: number;
  permerror: number;
  none: number;
  neutral: number;
  /** Other dkim= words (policy…). */
  other: number;
  /** Delivered without the verifier's Authentication-Results (OpenDKIM adds none when DNS failed and On-DNSError is accept). */
  unverified: number;
  delivered: number;
  /** Delivery attempts postfix logged as deferred (sender and receiver; a held queue's are not counted). */
  deferred: number;
  bounced: number;
  /** Delivered messages per signing selector (`s=`; "unsigned" when there was no DKIM-Signature). */
  selectors: Record<string, number>;
}

export interface DkimRig {
  signerKind: SignerKind;
  domain: string;
  /** TTL of the selector records, seconds. */
  ttl: number;
  negativeTtl: number;
  bind: BindHandle;
  unbound: UnboundHandle;
  signer: DkimSigner;
  verifier: DkimVerifier;
  sender: PostfixInstance;
  receiver: PostfixInstance;
  /** Where the signer's private keys must live (0700, owned by keyOwner; not under /tmp). */
  keyDir: string;
  keyOwner: SystemUser;
  /** argv that makes the running signer re-read its files (kill -USR1 / -HUP PID). */
  reloadSigner: string[];
  /** The signer's files: OpenDKIM keyTable + signingTable + conf; rspamd selectorMap (+ pathMap) + conf. */
  signerFiles: Record<string, string>;
  /** Messages submitted so far (through submit or a flow). */
  readonly submitted: number;
  /** I/O: opendkim-genkey a fresh RSA key pair into keyDir, private key owned by keyOwner. */
  newKey(selector: string, bits?: number): Promise<DkimKey>;
  /** I/O: nsupdate the key's TXT (split strings) with the rig's TTL; resolves when both servers serve it. */
  publish(key: DkimKey, ttl?: number): Promise<void>;
  /** I/O: nsupdate-delete the selector's TXT; resolves when no server serves it. */
  unpublish(key: DkimKey): Promise<void>;
  /** I/O: replace the selector's TXT by the revocation record `v=DKIM1; k=rsa; p=` (retire: revoke). */
  revoke(key: DkimKey): Promise<void>;
  /** I/O: write the signer's files for this key and reload it; resolves once new mail gets the key (signer.reload). */
  useKey(key: DkimKey): Promise<void>;
  /** I/O: reload the signer alone (signer.reload: reloadSigner, then wait until it took effect). */
  reload(): Promise<void>;
  /** I/O: opendkim-testkey for the key, resolving through the rig's caching resolver. */
  testKey(key: DkimKey): Promise<{ ok: boolean; output: string }>;
  /** I/O: submit n messages (sendmail, From: @example.test), one after another; returns their numbers. */
  submit(n?: number, label?: string): Promise<number[]>;
  /** I/O: every delivered message, parsed. */
  messages(): DeliveredMessage[];
  /** I/O: the counts so far. */
  results(): DkimResults;
  /** I/O: wait until every submitted message is delivered or bounced (false on timeout). */
  settle(timeoutMs?: number): Promise<boolean>;
  /** I/O: the sender keeps new mail queued (defer_transports = smtp): signed now, verified later. */
  holdDelivery(): Promise<void>;
  /** I/O: deliver what is queued, now. */
  releaseDelivery(): Promise<void>;
}

/** Pure: postfix log lines → deferred/bounced counts (deferrals of a held queue are not failures). */
export function countDeliveryLog(log: string): { deferred: number; bounced: number; failures: string[] } {
  const lines = log.split('\n').filter((l) => / status=(deferred|bounced) /.test(l) && !/deferred transport/.test(l));
  return { deferred: lines.filter((l) => / status=deferred /.test(l)).length, bounced: lines.filter((l) => / status=bounced /.test(l)).length, failures: lines };
}

/** Pure: counts from delivered messages plus the postfix logs' deferred/bounced. */
export function countResults(messages: DeliveredMessage[], log: { deferred: number; bounced: number }): DkimResults {
  const r: DkimResults = { pass: 0, fail: 0, temperror: 0, permerror: 0, none: 0, neutral: 0, other: 0, unverified: 0, delivered: messages.length, deferred: log.deferred, bounced: log.bounced, selectors: {} };
  for (const m of messages) {
    const k = m.dkim as keyof DkimResults | undefined;
    if (m.authenticationResults === undefined) r.unverified++;
    else if (k && ['pass', 'fail', 'temperror', 'permerror', 'none', 'neutral'].includes(k)) (r[k] as number)++;
    else r.other++;
    const s = m.selector ?? 'unsigned';
    r.selectors[s] = (r.selectors[s] ?? 0) + 1;
  }
  return r;
}

/** I/O: start everything (about 5–10 s); stopped by PID and removed by `t.after`. Check dkimRigBinaries first. */
export async function startDkimRig(t: HarnessContext, opts: DkimRigOptions): Promise<DkimRig> {
  const ttl = opts.ttl ?? DKIM_TTL;
  const negativeTtl = opts.negativeTtl ?? 30;
  // Unsigned zone (DKIM needs no DNSSEC); the key may change TXT under _domainkey (and TLSA, as danehook's does).
  const bind = await startBind(t, {
    zone: DKIM_DOMAIN, ttl: negativeTtl, secondary: true,
    updatePolicy: `grant danehook-key subdomain _domainkey.${DKIM_DOMAIN}. TXT; grant danehook-key zonesub TLSA;`,
  });
  const unbound = await startUnbound(t, { zone: bind.zone, servers: [bind.primary, bind.secondary!] });
  const signer = opts.signer === 'opendkim' ? await startOpenDkimSigner(t) : await startRspamdSigner(t, { resolver: unbound.endpoint, maps: opts.rspamdMaps });
  const verifier = await startOpenDkimVerifier(t, { resolver: unbound.endpoint, authservId: RECEIVER_DOMAIN });

  // Receiver: virtual(8) delivers every message for rcpt@receiver.test into a maildir we read.
  const nobody = systemUser('nobody');
  const mailBase = makeTempDir('dkim-mail');
  chmodSync(mailBase, 0o755);
  chownSync(mailBase, nobody.uid, nobody.gid);
  registerCleanup(t, mailBase, () => []);
  const receiver = await startPostfix(t, {
    name: 'postfix-dkim-receiver', ipv6: false, myhostname: `mx.${RECEIVER_DOMAIN}`, maillogFile: true,
    main: {
      smtpd_milters: verifier.milter,
      milter_default_action: 'tempfail',
      virtual_mailbox_domains: RECEIVER_DOMAIN,
      virtual_mailbox_base: mailBase,
      virtual_mailbox_maps: `inline:{ rcpt@${RECEIVER_DOMAIN}=rcpt/ }`,
      virtual_uid_maps: `static:${nobody.uid}`,
      virtual_gid_maps: `static:${nobody.gid}`,
      // One smtpd: the verifying OpenDKIM crashes on two messages at once (FACTS.md).
      default_process_limit: '1',
    },
    services: ['virtual unix - n n - - virtual'],
  });
  // Sender: every message passes the signing milter (sendmail → pickup → cleanup → non_smtpd_milters).
  const sender = await startPostfix(t, {
    name: 'postfix-dkim-sender', ipv6: false, myhostname: `sender.${DKIM_DOMAIN}`, maillogFile: true,
    main: {
      non_smtpd_milters: signer.milter,
      smtpd_milters: signer.milter,
      milter_default_action: 'tempfail',
      transport_maps: `inline:{ ${RECEIVER_DOMAIN}=smtp:[127.0.0.1]:${receiver.smtpPort} }`,
      default_transport: 'error:not a test destination',
      initial_destination_concurrency: '1',
      default_destination_concurrency_limit: '1',
      defer_transports: '',
    },
    services: ['smtp unix - - n - - smtp'],
  });

  const maildirFiles = () => ['new', 'cur'].flatMap((sub) => {
    const d = join(mailBase, 'rcpt', sub);
    return existsSync(d) ? readdirSync(d).map((f) => join(d, f)) : [];
  });
  const messages = () => maildirFiles().map((f) => parseDelivered(f, readFileSync(f, 'utf8'), RECEIVER_DOMAIN));
  const logs = () => [sender, receiver].map((p) => (existsSync(p.maillogPath) ? readFileSync(p.maillogPath, 'utf8') : '')).join('\n');
  const setDefer = async (value: string) => {
    await run(binaryPath('postconf'), ['-c', sender.configDir, '-e', `defer_transports=${value}`]);
    await sender.reload();
  };
  let submitted = 0;
  const reload = () => signer.reload();

  return {
    signerKind: opts.signer, domain: DKIM_DOMAIN, ttl, negativeTtl, bind, unbound, signer, verifier, sender, receiver,
    keyDir: signer.keyDir, keyOwner: signer.keyOwner, reloadSigner: signer.reloadSigner, signerFiles: signer.files,
    get submitted() {
      return submitted;
    },
    newKey: (selector, bits) => generateDkimKey(signer.keyDir, selector, DKIM_DOMAIN, { bits, owner: signer.keyOwner, privateKeyPath: signer.keyPathFor(DKIM_DOMAIN, selector) }),
    publish: (key, keyTtl) => publishDkimKey(bind, key, keyTtl ?? ttl),
    unpublish: (key) => unpublishDkimKey(bind, key.owner),
    revoke: (key) => publishDkimKey(bind, { owner: key.owner, txtStrings: [REVOKED_TXT], txtValue: REVOKED_TXT }, ttl),
    async useKey(key) {
      signer.configure(key.domain, key.selector, key.privateKeyPath);
      await reload();
    },
    reload,
    testKey: (key) => opendkimTestkey(key, verifier.resolverConfPath),
    async submit(n = 1, label = 'rig') {
      const numbers: number[] = [];
      for (let i = 0; i < n; i++) {
        const no = ++submitted;
        numbers.push(no);
        const message = [
          `From: danehook-test@${DKIM_DOMAIN}`, `To: rcpt@${RECEIVER_DOMAIN}`, `Subject: dkim-rig #${no} ${label}`,
          `Message-ID: <dkim-rig-${no}-${Date.now()}@${DKIM_DOMAIN}>`, `Date: ${new Date().toUTCString()}`, '',
          `Test message ${no} (${label}).`, '',
        ].join('\n');
        await new Promise<void>((resolve, reject) => {
          const child = execFile(binaryPath('sendmail'), ['-C', sender.configDir, '-f', `danehook-test@${DKIM_DOMAIN}`, `rcpt@${RECEIVER_DOMAIN}`], { timeout: 15_000 }, (err, _o, stderr) =>
            err ? reject(new Error(`sendmail: ${err.message} ${stderr}`)) : resolve());
          child.stdin?.end(message);
        });
      }
      return numbers;
    },
    messages,
    results: () => countResults(messages(), countDeliveryLog(logs())),
    async settle(timeoutMs = 60_000) {
      return waitFor(() => {
        const r = countResults(messages(), countDeliveryLog(logs()));
        return r.delivered + r.bounced >= submitted;
      }, timeoutMs, 200);
    },
    holdDelivery: () => setDefer('smtp'),
    async releaseDelivery() {
      await setDefer('');
      await run(binaryPath('postqueue'), ['-c', sender.configDir, '-f']);
    },
  };
}

export interface DkimFlow {
  /** Messages this flow submitted so far. */
  readonly submitted: number;
  /** Stop submitting (after the one in flight); resolves to the number submitted. */
  stop(): Promise<number>;
}

/** I/O: submit one message every `everyMs` (default 1000) through the rig until stopped (mail-flow.ts for DKIM). */
export function startDkimFlow(rig: DkimRig, opts: { everyMs?: number; label?: string } = {}): DkimFlow {
  const everyMs = opts.everyMs ?? 1000;
  let submitted = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const began = Date.now();
      await rig.submit(1, opts.label ?? 'flow');
      submitted++;
      await sleep(Math.max(0, everyMs - (Date.now() - began)));
    }
  })();
  loop.catch(() => undefined); // reported by stop(), not as an unhandled rejection meanwhile
  return {
    get submitted() {
      return submitted;
    },
    async stop() {
      stopped = true;
      await loop;
      return submitted;
    },
  };
}
