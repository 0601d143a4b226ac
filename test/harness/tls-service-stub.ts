// A scripted SMTP server in node for dialect edge cases no Debian server produces on demand
// (multi-line 220- greeting, a 554 greeting, STARTTLS refused, bytes injected after the STARTTLS
// go-ahead — RFC 3207 §4/§6). Real-server behaviour is tested with postfix; this is only a stub.
import { createServer, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { HarnessContext } from './tempdir.js';

export interface SmtpScript {
  greeting: string; // sent as is (include CRLFs)
  ehlo: string;
  /** Reply to STARTTLS; when it starts with "220" the stub starts TLS after sending it (and `inject`). */
  starttls: string;
  inject?: string;
  key: string;
  cert: string;
}

/** I/O: a loopback SMTP stub following `script`; closed by `t.after`. */
export async function startSmtpStub(t: HarnessContext, script: SmtpScript): Promise<{ host: string; port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write(script.greeting);
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let nl = buffered.indexOf('\r\n'); nl >= 0; nl = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 2);
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') socket.write(script.ehlo);
        else if (verb === 'STARTTLS') {
          socket.write(script.starttls + (script.inject ?? ''));
          if (script.starttls.startsWith('220')) {
            socket.off('data', onData);
            const secure = new TLSSocket(socket, { isServer: true, key: script.key, cert: script.cert });
            secure.on('error', () => {});
            secure.resume();
          }
          return;
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('502 5.5.2 not in this stub\r\n');
      }
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('stub has no port');
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { host: '127.0.0.1', port: address.port };
}
