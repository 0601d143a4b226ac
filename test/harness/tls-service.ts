// Small pieces shared by the TLS-service harnesses: read a server's first line (readiness), and a
// TCP server that accepts and never answers — a stub for the probe's timeout path, since no real
// server misbehaves that way on purpose.
import { renameSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { HarnessContext } from './tempdir.js';

/** I/O: connect and return the first line the server sends ('' on error or after timeoutMs). */
export function readBanner(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let data = '';
    const done = (line: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(line);
    };
    const timer = setTimeout(() => done(''), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const nl = data.indexOf('\n');
      if (nl >= 0) done(data.slice(0, nl).replace(/\r$/, ''));
    });
    socket.on('error', () => done(''));
    socket.on('close', () => done(data));
  });
}

export interface SilentServer {
  host: string;
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Most connections open at the same time. */
  readonly maxConcurrent: number;
  /** Connections open now (a client that closed its socket is gone). */
  readonly open: number;
  close(): Promise<void>;
}

/** I/O: a TCP listener on loopback that accepts connections and never sends a byte. */
export async function startSilentServer(t: HarnessContext, host = '127.0.0.1'): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let maxConcurrent = 0;
  const server: Server = createServer((s) => {
    accepted++;
    sockets.add(s);
    maxConcurrent = Math.max(maxConcurrent, sockets.size);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.resume(); // read and drop what the client sends, so its close is seen
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('silent server has no port');
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  t.after(close);
  return {
    host,
    port: address.port,
    get accepted() {
      return accepted;
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
    get open() {
      return sockets.size;
    },
    close,
  };
}

/** I/O: a port on `host` that nothing listens on (bound, then released). */
export async function closedPort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Replace a service's certificate and key files, each by rename (readers see old or new, never half). */
export function swapCertFiles(certFile: string, keyFile: string, fullchainPem: string, keyPem: string): void {
  writeFileSync(`${keyFile}.new`, keyPem, { mode: 0o600 });
  writeFileSync(`${certFile}.new`, fullchainPem);
  renameSync(`${keyFile}.new`, keyFile);
  renameSync(`${certFile}.new`, certFile);
}
