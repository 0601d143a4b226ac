// Split PEM text into typed DER blocks (RFC 7468). Accepts any order and mix of certificates and
// keys, CRLF line ends and text between blocks (as lego and certbot bundles have).
import { CertificateError } from '../errors.js';

export interface PemBlock {
  label: string; // "CERTIFICATE", "PRIVATE KEY", "EC PRIVATE KEY", ...
  der: Buffer;
  source: string; // where it came from, for messages
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/=\s]*$/;

/** Every PEM block in `text`; throws CertificateError when the text has none or a block is damaged. */
export function parsePemBlocks(text: string, source: string): PemBlock[] {
  // DER starts with a SEQUENCE tag (0x30); other binary files usually hold NUL bytes.
  if (!text.includes('-----BEGIN') && (text.includes('\u0000') || text.charCodeAt(0) === 0x30)) {
    throw new CertificateError(`${source}: not PEM text but binary data (DER is not accepted; convert with "openssl x509 -inform DER -in FILE")`);
  }
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin, body, end] = m;
    if (begin !== end) throw new CertificateError(`${source}: PEM block "BEGIN ${begin}" ends with "END ${end}"`);
    // RFC 7468 §2 allows headers only in legacy encrypted blocks; those we reject.
    if (/Proc-Type:|DEK-Info:/.test(body!)) throw new CertificateError(`${source}: encrypted private keys are not supported; store the key unencrypted with mode 0600`);
    if (!BASE64_BODY.test(body!)) throw new CertificateError(`${source}: PEM block "${begin}" has characters outside base64`);
    const der = Buffer.from(body!.replace(/\s+/g, ''), 'base64');
    if (der.length === 0) throw new CertificateError(`${source}: PEM block "${begin}" is empty`);
    blocks.push({ label: begin!, der, source });
  }
  if (blocks.length === 0) {
    const hint = text.trim().length === 0 ? 'the file is empty' : 'no "-----BEGIN ...-----" block found';
    throw new CertificateError(`${source}: not a PEM file (${hint})`);
  }
  if (/-----BEGIN [A-Z0-9 ]+-----(?![\s\S]*-----END)/.test(text.slice(text.lastIndexOf('-----END')))) {
    throw new CertificateError(`${source}: truncated PEM (a BEGIN line has no END line)`);
  }
  return blocks;
}
