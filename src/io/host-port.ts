// Parse and format "host:port", "[v6]:port", a bare host or a bare IPv6 address. Pure.
import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

/** Parse server text; a missing port is `defaultPort`. Undefined when the text is not host[:port]. */
export function parseHostPort(text: string, defaultPort: number): HostPort | undefined {
  const s = text.trim();
  const bracket = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(s);
  if (bracket) {
    if (isIP(bracket[1]!) !== 6) return undefined;
    return withPort(bracket[1]!, bracket[2], defaultPort);
  }
  // More than one colon without brackets can only be a bare IPv6 address (no port).
  if ((s.match(/:/g) ?? []).length > 1) return isIP(s) === 6 ? { host: s, port: defaultPort } : undefined;
  const plain = /^([A-Za-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(s);
  if (!plain || plain[1]!.startsWith('.') || plain[1]!.includes('..')) return undefined;
  return withPort(plain[1]!.replace(/\.$/, ''), plain[2], defaultPort);
}

function withPort(host: string, port: string | undefined, defaultPort: number): HostPort | undefined {
  if (port === undefined) return { host, port: defaultPort };
  const n = Number(port);
  return n >= 1 && n <= 65535 ? { host, port: n } : undefined;
}

/** "192.0.2.1:53", "[2001:db8::1]:53", "ns1.example.com:53". */
export function formatHostPort(s: HostPort): string {
  return isIP(s.host) === 6 ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}
