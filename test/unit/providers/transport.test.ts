// Signed UPDATEs against a fake server on 127.0.0.1: only a matching NOERROR reply whose TSIG
// verifies is success; forged, unsigned, tampered or mismatched replies are 76, TSIG and policy
// refusals 77, an absent or silent server 69 after bounded retries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import packet from 'dns-packet';
import { TsigKey } from '../../../src/config/tsig-key.js';
import { DanehookError } from '../../../src/errors.js';
import { formatUpdateMessage } from '../../../src/providers/rfc2136/message.js';
import { sendSignedUpdate } from '../../../src/providers/rfc2136/transport.js';
import { parseTsig, signTsigMessage } from '../../../src/providers/rfc2136/tsig.js';
import { findClosedPort, startFakeDns, type FakeRequest } from './fake-dns.js';

const SECRET = Buffer.from('this is the secret 0123456789abc');
const key = new TsigKey('danehook-key', 'hmac-sha256', SECRET);
const NOW_MS = 1_800_000_000_000;
const now = () => NOW_MS;

function replyTo(req: FakeRequest, rcode: number, opts: { id?: number; zone?: string } = {}): Buffer {
  const id = opts.id ?? req.wire.readUInt16BE(0);
  return packet.encode({ id, type: 'response', flags: (5 << 11) | rcode, questions: [{ name: opts.zone ?? 'example.com', type: 'SOA', class: 'IN' }] });
}

function signedReplyTo(req: FakeRequest, rcode: number, opts: { signer?: TsigKey; error?: number; otherData?: Buffer; timeSigned?: number; tamper?: boolean } = {}): Buffer {
  const tsig = parseTsig(req.wire)!.tsig;
  const { wire } = signTsigMessage(replyTo(req, rcode), opts.signer ?? key, {
    timeSigned: opts.timeSigned ?? tsig.timeSigned,
    requestMac: tsig.mac,
    error: opts.error,
    otherData: opts.otherData,
  });
  if (opts.tamper) wire[2] = wire[2]! ^ 0x04; // flip AA
  return wire;
}

/** What BIND sends for a bad signature: a TSIG RR with an empty MAC and the error (RFC 8945 §5.3.2). */
function unsignedTsigErrorReply(req: FakeRequest, error: number): Buffer {
  const base = replyTo(req, 9);
  const rdata = Buffer.concat([
    Buffer.from('\x0bhmac-sha256\x00', 'latin1'),
    Buffer.from([0, 0, 0x6b, 0x49, 0xd2, 0x00, 0x01, 0x2c]), // time signed, fudge 300
    Buffer.from([0, 0]), // MAC size 0
    base.subarray(0, 2), // original ID
    Buffer.from([0, error, 0, 0]),
  ]);
  const rr = Buffer.concat([Buffer.from('\x0cdanehook-key\x00', 'latin1'), Buffer.from([0, 250, 0, 255, 0, 0, 0, 0, 0, rdata.length]), rdata]);
  const wire = Buffer.concat([base, rr]);
  wire.writeUInt16BE(1, 10);
  return wire;
}

const update = () => formatUpdateMessage({ id: 999, zone: 'example.com.', prerequisites: [], updates: [] });

async function send(port: number, overrides: { key?: TsigKey; now?: () => number; retries?: number; timeoutMs?: number } = {}) {
  return sendSignedUpdate({ host: '127.0.0.1', port }, overrides.key ?? key, update(), {
    timeoutMs: overrides.timeoutMs ?? 1000, retries: overrides.retries ?? 0, backoffMs: 10, now: overrides.now ?? now, what: 'UPDATE of zone example.com.',
  });
}

async function expectExit(p: Promise<unknown>, exit: number, message: RegExp): Promise<DanehookError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof DanehookError, `expected a DanehookError, got ${String(err)}`);
  assert.equal(err.exitCode, exit, err.message);
  assert.match(err.message, message);
  for (const text of [err.message, err.hint ?? '']) {
    assert.ok(!text.includes(SECRET.toString('base64')) && !text.includes(SECRET.toString()) && !text.includes(SECRET.toString('hex')), 'secret leaked');
  }
  return err;
}

test('a verified NOERROR reply is success; the request is signed with our key over TCP', async () => {
  const dns = await startFakeDns((req) => signedReplyTo(req, 0));
  try {
    await send(dns.port);
    assert.equal(dns.requests.length, 1);
    assert.equal(dns.requests[0]!.transport, 'tcp');
    const tsig = parseTsig(dns.requests[0]!.wire)!.tsig;
    assert.equal(tsig.keyName, 'danehook-key.');
    assert.equal(tsig.timeSigned, NOW_MS / 1000);
  } finally {
    await dns.close();
  }
});

const rejected: [string, (req: FakeRequest) => Buffer | undefined, number, RegExp][] = [
  ['unsigned NOERROR', (req) => replyTo(req, 0), 76, /NOERROR reply rejected: reply is not signed/],
  ['NOERROR signed with a forged key', (req) => signedReplyTo(req, 0, { signer: new TsigKey('danehook-key', 'hmac-sha256', Buffer.from('guess')) }), 76, /does not verify/],
  ['NOERROR tampered after signing', (req) => signedReplyTo(req, 0, { tamper: true }), 76, /does not verify/],
  ['NOERROR signed an hour late', (req) => signedReplyTo(req, 0, { timeSigned: NOW_MS / 1000 + 3600 }), 76, /3600 s from our clock/],
  ['reply with another ID', (req) => replyTo(req, 0, { id: req.wire.readUInt16BE(0) ^ 1 }), 76, /does not match request ID/],
  ['reply for another zone', (req) => replyTo(req, 0, { zone: 'example.org' }), 76, /example\.org/],
  ['garbage', () => Buffer.from('hello, this is not DNS'), 76, /./],
  ['SERVFAIL', (req) => replyTo(req, 2), 76, /SERVFAIL \(reply not signed\)/],
  ['FORMERR', (req) => replyTo(req, 1), 76, /FORMERR/],
  ['REFUSED (policy)', (req) => replyTo(req, 5), 77, /REFUSED/],
  ['NOTAUTH + BADSIG, unsigned (wrong secret, FACTS.md)', (req) => unsignedTsigErrorReply(req, 16), 77, /NOTAUTH, TSIG BADSIG .*\(reply not signed\)/],
  ['NOTAUTH + BADKEY', (req) => signedReplyTo(req, 9, { error: 17 }), 77, /TSIG BADKEY for key danehook-key/],
  ['NXRRSET (prerequisite failed)', (req) => signedReplyTo(req, 8), 75, /prerequisite failed/],
];

for (const [name, handler, exit, message] of rejected) {
  test(`rejects: ${name} → ${exit}`, async () => {
    const dns = await startFakeDns(handler);
    try {
      await expectExit(send(dns.port), exit, message);
      assert.equal(dns.requests.length, 1, 'not retried');
    } finally {
      await dns.close();
    }
  });
}

test('BADTIME: refused (77) with a clock hint and the skew from the server time', async () => {
  const dns = await startFakeDns((req) => {
    const other = Buffer.alloc(6);
    other.writeUIntBE(NOW_MS / 1000 - 3600, 0, 6); // server clock an hour behind ours
    return signedReplyTo(req, 9, { error: 18, otherData: other });
  });
  try {
    const err = await expectExit(send(dns.port), 77, /NOTAUTH, TSIG BADTIME/);
    assert.match(err.hint ?? '', /behind by 3600 s/);
  } finally {
    await dns.close();
  }
});

test('server down: 69 after 1 + retries attempts', async () => {
  const port = await findClosedPort();
  await expectExit(send(port, { retries: 2 }), 69, /unreachable \(ECONNREFUSED\)/);
});

test('silent server: 69 after timeouts, each attempt a fresh connection and signature', async () => {
  let t = NOW_MS;
  const dns = await startFakeDns(() => undefined);
  try {
    await expectExit(send(dns.port, { retries: 2, timeoutMs: 150, now: () => (t += 1000) }), 69, /no reply/);
    assert.equal(dns.tcpConnections, 3);
    const times = dns.requests.map((r) => parseTsig(r.wire)!.tsig.timeSigned);
    assert.equal(new Set(times).size, 3, 're-signed per attempt');
  } finally {
    await dns.close();
  }
});

test('a timeout then a good reply succeeds on retry', async () => {
  let n = 0;
  const dns = await startFakeDns((req) => (n++ === 0 ? undefined : signedReplyTo(req, 0)));
  try {
    await send(dns.port, { retries: 1, timeoutMs: 150 });
    assert.equal(dns.requests.length, 2);
  } finally {
    await dns.close();
  }
});
