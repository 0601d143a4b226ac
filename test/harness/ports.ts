// Free port numbers on 127.0.0.1 that are free for BOTH TCP and UDP (DNS servers need both).
// Random picks below the kernel's ephemeral range avoid clashing with other concurrent test files
// and with the source ports of outgoing queries.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const LOW = 20000;
const HIGH = 32000; // Linux ephemeral ports start at 32768

const taken = new Set<number | string>(); // never hand the same port or address out twice in one process

function tcpFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function udpFree(port: number, address = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.once('error', () => {
      sock.close();
      resolve(false);
    });
    sock.bind({ address, port, exclusive: true }, () => sock.close(() => resolve(true)));
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

/**
 * A loopback address (127.53.x.y) whose `port` is free for TCP and UDP. glibc's resolver talks
 * only to port 53, so a private resolver needs an address of its own rather than a port; Linux
 * routes all of 127.0.0.0/8 to lo, so any such address can be bound without configuring it.
 */
export async function freeLoopbackAddress(port: number): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const address = `127.53.${Math.floor(Math.random() * 254) + 1}.${Math.floor(Math.random() * 254) + 1}`;
    if (taken.has(address)) continue;
    if ((await tcpFree(port, address)) && (await udpFree(port, address))) {
      taken.add(address);
      return address;
    }
  }
  throw new Error(`no loopback address with port ${port} free for TCP and UDP`);
}
