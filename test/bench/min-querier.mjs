// Baseline of the "many pending rollovers" bench: the least work that answers the same question —
// a plain node script (no TypeScript loader) that asks each server for the TLSA RRset of each name
// once (RD=0, UDP, 64 in flight per server, one socket per server) and checks every answer is
// authoritative and non-empty. Usage: node min-querier.mjs FILE.json  ({servers:[{host,port}], names:[...]}).
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

const { servers, names } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const IN_FLIGHT = 64;

function query(id, name) {
  const labels = name.replace(/\.$/, '').split('.');
  const q = Buffer.alloc(12 + labels.reduce((n, l) => n + l.length + 1, 0) + 1 + 4);
  q.writeUInt16BE(id, 0);
  q.writeUInt16BE(1, 4); // QDCOUNT
  let pos = 12;
  for (const l of labels) {
    q[pos++] = l.length;
    pos += q.write(l, pos, 'ascii');
  }
  q[pos++] = 0;
  q.writeUInt16BE(52, pos); // TLSA
  q.writeUInt16BE(1, pos + 2); // IN
  return q;
}

async function askAll(server) {
  const sock = dgram.createSocket('udp4');
  const waiting = new Map();
  sock.on('message', (m) => {
    const w = waiting.get(m.readUInt16BE(0));
    if (w) w(m);
  });
  let served = 0;
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      const id = i & 0xffff;
      const msg = query(id, names[i]);
      const reply = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timeout for ${names[i]}`)), 5000);
        waiting.set(id, (m) => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve(m);
        });
        sock.send(msg, server.port, server.host);
      });
      const aa = (reply.readUInt16BE(2) >> 10) & 1;
      if (aa && reply.readUInt16BE(6) > 0) served++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  sock.close();
  return served;
}

const served = await Promise.all(servers.map(askAll));
process.stdout.write(JSON.stringify({ queries: servers.length * names.length, served: served.reduce((a, b) => a + b, 0) }) + '\n');
