// The TSIG key as the program holds it: name, algorithm and the secret bytes, which never print.
// Sources (DESIGN.md): keyFile (BIND / tsig-keygen format), secretFile, or $DANEHOOK_TSIG_SECRET.

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512' | 'hmac-sha1';

const REDACTED = '[redacted]';

export class TsigKey {
  readonly name: string; // lowercase, no trailing dot
  readonly algorithm: TsigAlgorithm;
  readonly #secret: Buffer;
  constructor(name: string, algorithm: TsigAlgorithm, secret: Buffer) {
    this.name = name.toLowerCase().replace(/\.$/, '');
    this.algorithm = algorithm;
    this.#secret = secret;
  }
  /** The raw secret, for HMAC only. */
  secret(): Buffer {
    return this.#secret;
  }
  // The secret must never reach logs, JSON output or error messages.
  toJSON(): object {
    return { name: this.name, algorithm: this.algorithm, secret: REDACTED };
  }
  toString(): string {
    return `TsigKey(${this.name}, ${this.algorithm})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decode a base64 secret; undefined when it is not canonical base64 of at least 1 byte. */
export function decodeSecret(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) return undefined;
  const buf = Buffer.from(compact, 'base64');
  return buf.length > 0 ? buf : undefined;
}

export interface ParsedKeyFile {
  name: string;
  algorithm: string;
  secret: string;
}

/**
 * Parse a BIND key file as written by tsig-keygen / ddns-confgen:
 *   key "name" { algorithm hmac-sha256; secret "base64"; };
 * Returns every key in the file; comments (#, //, /* *\/) are ignored.
 */
export function parseBindKeyFile(text: string): ParsedKeyFile[] {
  const clean = text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|\s)(#|\/\/)[^\n]*/g, ' ');
  const keys: ParsedKeyFile[] = [];
  const re = /key\s+"?([^"\s{]+)"?\s*\{([^}]*)\}\s*;?/g;
  for (let m = re.exec(clean); m; m = re.exec(clean)) {
    const body = m[2]!;
    const alg = /algorithm\s+"?([A-Za-z0-9.-]+)"?\s*;/.exec(body);
    const sec = /secret\s+"([^"]*)"\s*;/.exec(body);
    if (alg && sec) keys.push({ name: m[1]!.toLowerCase().replace(/\.$/, ''), algorithm: alg[1]!.toLowerCase(), secret: sec[1]! });
  }
  return keys;
}
