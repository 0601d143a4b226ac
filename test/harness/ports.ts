// Free port numbers on 127.0.0.1 that are free for BOTH TCP and UDP (DNS servers need both).
// Random picks below the kernel's ephemeral range avoid clashing with other concurrent test files
// and with the source ports of outgoing queries.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const LOW = 20000;
const HIGH = 32000; // Linux ephemeral ports start at 32768

const taken = new Set<number>(); // never hand the same number out twice in one process

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.once('error', () => {
      sock.close();
      resolve(false);
    });
    sock.bind({ address: '127.0.0.1', port, exclusive: true }, () => sock.close(() => resolve(true)));
  });
}

/** One port number free for TCP and UDP on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (taken.has(port)) continue;
    if ((await tcpFree(port)) && (await udpFree(port))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free TCP+UDP port found on 127.0.0.1');
}

export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await freePort());
  return out;
}
