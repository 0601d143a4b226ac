// An independent verifier for our response MACs (RFC 8945 §4.3.1: request MAC + reply + variables):
// nsupdate (BIND) sends an UPDATE to a fake server whose reply danehook's code signs; nsupdate
// accepts it only if the MAC is right. Reply verification in danehook uses the same computation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import packet from 'dns-packet';
import { TsigKey } from '../../../src/config/tsig-key.js';
import { parseTsig, signTsigMessage } from '../../../src/providers/rfc2136/tsig.js';
import { startFakeDns, type FakeRequest } from './fake-dns.js';

const SECRET_B64 = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTAxMjM0NTY3';
const haveNsupdate = spawnSync('nsupdate', ['-V']).status === 0;

function reply(req: FakeRequest, signer: TsigKey): Buffer {
  const tsig = parseTsig(req.wire)!.tsig;
  const base = packet.encode({ id: req.wire.readUInt16BE(0), type: 'response', flags: 5 << 11, questions: [{ name: 'example.com', type: 'SOA', class: 'IN' }] });
  return signTsigMessage(base, signer, { timeSigned: tsig.timeSigned, requestMac: tsig.mac }).wire;
}

for (const alg of ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const) {
  for (const good of [true, false]) {
    test(`nsupdate ${good ? 'accepts' : 'rejects'} a ${alg} reply signed by danehook with ${good ? 'the' : 'a wrong'} key`, { skip: !haveNsupdate && 'nsupdate not installed' }, async () => {
      const secret = Buffer.from(SECRET_B64, 'base64');
      const signer = new TsigKey('danehook-key', alg, good ? secret : Buffer.from('wrong'));
      const dns = await startFakeDns((req) => reply(req, signer));
      try {
        const script = `server 127.0.0.1 ${dns.port}\nzone example.com.\nupdate add _25._tcp.mx.example.com. 60 TLSA 3 1 1 ${'ab'.repeat(32)}\nsend\n`;
        // spawnSync would block the fake server's event loop: run nsupdate asynchronously.
        const { spawn } = await import('node:child_process');
        const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
          const p = spawn('nsupdate', ['-v', '-t', '3', '-y', `${alg}:danehook-key:${SECRET_B64}`]);
          let stderr = '';
          p.stderr.on('data', (d) => (stderr += d));
          p.on('exit', (status) => resolve({ status, stderr }));
          p.stdin.end(script);
        });
        if (good) assert.equal(r.status, 0, r.stderr);
        else {
          assert.notEqual(r.status, 0);
          assert.match(r.stderr, /tsig|TSIG|signature/);
        }
      } finally {
        await dns.close();
      }
    });
  }
}
