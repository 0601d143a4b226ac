// TSIG (RFC 8945): sign a message with an HMAC key and verify a signed reply, with node:crypto.
// Pure except for the HMAC itself; time is passed in (seconds) so tests can skew the clock.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TsigAlgorithm, TsigKey } from '../../config/tsig-key.js';
import { CLASS, encodeCanonicalName, parseMessage, readName, TYPE, WireFormatError, type WireRecord } from '../../io/dns-wire.js';

const DIGEST: Record<TsigAlgorithm, { hash: string; bytes: number }> = {
  'hmac-sha1': { hash: 'sha1', bytes: 20 },
  'hmac-sha256': { hash: 'sha256', bytes: 32 },
  'hmac-sha384': { hash: 'sha384', bytes: 48 },
  'hmac-sha512': { hash: 'sha512', bytes: 64 },
};

/** RFC 8945 §5.2.3 recommends 300 s; BIND, Knot and nsupdate use it too. */
export const DEFAULT_FUDGE = 300;

export interface TsigFields {
  keyName: string; // absolute, lowercase
  algorithm: string; // absolute, lowercase, e.g. "hmac-sha256."
  timeSigned: number; // seconds since the epoch (48 bits on the wire)
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  otherData: Buffer;
}

export interface SignOptions {
  timeSigned: number;
  fudge?: number;
  /** For a response: the MAC of the request it answers (RFC 8945 §4.3.1). */
  requestMac?: Buffer;
  error?: number;
  otherData?: Buffer;
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function u48(v: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(v, 0, 6);
  return b;
}

export function computeAlgorithmName(alg: TsigAlgorithm): string {
  return `${alg}.`;
}

/**
 * The TSIG variables of RFC 8945 §4.3.3, in canonical form: key name, CLASS ANY, TTL 0,
 * algorithm name, time signed, fudge, error, other len, other data.
 */
function formatTsigVariables(keyName: string, algorithm: string, timeSigned: number, fudge: number, error: number, otherData: Buffer): Buffer {
  return Buffer.concat([
    encodeCanonicalName(keyName),
    u16(CLASS.ANY),
    Buffer.alloc(4), // TTL 0
    encodeCanonicalName(algorithm),
    u48(timeSigned),
    u16(fudge),
    u16(error),
    u16(otherData.length),
    otherData,
  ]);
}

/**
 * The MAC over `message` (the DNS message as it will be sent, without the TSIG RR, with its
 * original ID) and the TSIG variables. A response's MAC also covers the request MAC, prefixed by
 * its length (§4.3.1), which binds the reply to our request.
 */
export function computeTsigMac(key: TsigKey, message: Buffer, opts: SignOptions & { algorithm?: string }): Buffer {
  const d = DIGEST[key.algorithm];
  const hmac = createHmac(d.hash, key.secret());
  if (opts.requestMac) hmac.update(Buffer.concat([u16(opts.requestMac.length), opts.requestMac]));
  hmac.update(message);
  hmac.update(
    formatTsigVariables(key.name, opts.algorithm ?? computeAlgorithmName(key.algorithm), opts.timeSigned, opts.fudge ?? DEFAULT_FUDGE, opts.error ?? 0, opts.otherData ?? Buffer.alloc(0)),
  );
  return hmac.digest();
}

/** Size of the TSIG RR this key appends: to keep a signed message within 64 KiB. */
export function computeTsigRecordSize(key: TsigKey, otherDataBytes = 0): number {
  const name = encodeCanonicalName(key.name).length;
  const alg = encodeCanonicalName(computeAlgorithmName(key.algorithm)).length;
  return name + 10 + alg + 6 + 2 + 2 + DIGEST[key.algorithm].bytes + 2 + 2 + 2 + otherDataBytes;
}

/** Append a TSIG RR (§4.2) to an unsigned message and bump ARCOUNT. Returns the wire form and MAC. */
export function signTsigMessage(message: Buffer, key: TsigKey, opts: SignOptions): { wire: Buffer; mac: Buffer } {
  const fudge = opts.fudge ?? DEFAULT_FUDGE;
  const error = opts.error ?? 0;
  const otherData = opts.otherData ?? Buffer.alloc(0);
  const mac = computeTsigMac(key, message, opts);
  const rdata = Buffer.concat([
    encodeCanonicalName(computeAlgorithmName(key.algorithm)),
    u48(opts.timeSigned),
    u16(fudge),
    u16(mac.length),
    mac,
    u16(message.readUInt16BE(0)), // Original ID
    u16(error),
    u16(otherData.length),
    otherData,
  ]);
  const rr = Buffer.concat([encodeCanonicalName(key.name), u16(TYPE.TSIG), u16(CLASS.ANY), Buffer.alloc(4), u16(rdata.length), rdata]);
  const wire = Buffer.concat([message, rr]);
  wire.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { wire, mac };
}

export function parseTsigRdata(wire: Buffer, rr: WireRecord): TsigFields {
  const { name: algorithm, end } = readName(wire, rr.rdataStart);
  const stop = rr.rdataStart + rr.rdata.length;
  if (end + 10 > stop) throw new WireFormatError('truncated TSIG rdata');
  const timeSigned = wire.readUIntBE(end, 6);
  const fudge = wire.readUInt16BE(end + 6);
  const macSize = wire.readUInt16BE(end + 8);
  const macEnd = end + 10 + macSize;
  if (macEnd + 6 > stop) throw new WireFormatError('truncated TSIG MAC');
  const mac = wire.subarray(end + 10, macEnd);
  const originalId = wire.readUInt16BE(macEnd);
  const error = wire.readUInt16BE(macEnd + 2);
  const otherLen = wire.readUInt16BE(macEnd + 4);
  if (macEnd + 6 + otherLen !== stop) throw new WireFormatError('bad TSIG other data length');
  return { keyName: rr.name, algorithm, timeSigned, fudge, mac: Buffer.from(mac), originalId, error, otherData: Buffer.from(wire.subarray(macEnd + 6, stop)) };
}

/**
 * Find the TSIG RR, which must be the last additional record (RFC 8945 §5.1), and return its
 * fields plus the message as it was before signing: TSIG removed, ARCOUNT decremented, and the
 * original ID restored (§4.3.2) — the bytes the MAC covers.
 */
export function parseTsig(wire: Buffer): { tsig: TsigFields; unsigned: Buffer } | undefined {
  const msg = parseMessage(wire);
  const tsigIndex = msg.additionals.findIndex((r) => r.type === TYPE.TSIG);
  if (tsigIndex < 0) return undefined;
  if (tsigIndex !== msg.additionals.length - 1) throw new WireFormatError('TSIG record is not the last additional record');
  const rr = msg.additionals[tsigIndex]!;
  if (rr.class !== CLASS.ANY || rr.ttl !== 0) throw new WireFormatError('TSIG record with class other than ANY or non-zero TTL');
  const tsig = parseTsigRdata(wire, rr);
  const unsigned = Buffer.from(wire.subarray(0, rr.start));
  unsigned.writeUInt16BE(tsig.originalId, 0);
  unsigned.writeUInt16BE(msg.header.arcount - 1, 10);
  return { tsig, unsigned };
}

export type TsigVerdict =
  | { ok: true; tsig: TsigFields }
  | { ok: false; reason: string; tsig?: TsigFields };

/**
 * Verify a signed reply to a request we signed with `requestMac` (§5.3 client side): same key
 * and algorithm, MAC over request MAC + reply + variables, time within fudge of `nowSeconds`.
 * Returns a reason instead of throwing; reasons never contain key material.
 */
export function verifyTsigResponse(wire: Buffer, key: TsigKey, requestMac: Buffer, nowSeconds: number): TsigVerdict {
  let found: ReturnType<typeof parseTsig>;
  try {
    found = parseTsig(wire);
  } catch (err) {
    return { ok: false, reason: `unreadable TSIG: ${(err as Error).message}` };
  }
  if (!found) return { ok: false, reason: 'reply is not signed (no TSIG record)' };
  const { tsig, unsigned } = found;
  const keyName = encodeCanonicalName(key.name).equals(encodeCanonicalName(tsig.keyName));
  if (!keyName) return { ok: false, reason: `reply signed with key ${tsig.keyName}, not ${key.name}.`, tsig };
  if (tsig.algorithm !== computeAlgorithmName(key.algorithm)) return { ok: false, reason: `reply signed with ${tsig.algorithm}, not ${key.algorithm}`, tsig };
  if (tsig.mac.length === 0) return { ok: false, reason: `reply carries no MAC (TSIG error ${tsig.error})`, tsig };
  const full = DIGEST[key.algorithm].bytes;
  // §5.2.2.1: a truncated MAC is acceptable down to max(10, half the digest) bytes.
  if (tsig.mac.length > full || tsig.mac.length < Math.max(10, full / 2)) return { ok: false, reason: `reply MAC of ${tsig.mac.length} bytes`, tsig };
  const expected = computeTsigMac(key, unsigned, {
    requestMac,
    timeSigned: tsig.timeSigned,
    fudge: tsig.fudge,
    error: tsig.error,
    otherData: tsig.otherData,
  }).subarray(0, tsig.mac.length);
  if (!timingSafeEqual(expected, tsig.mac)) return { ok: false, reason: 'reply MAC does not verify (forged or altered reply)', tsig };
  // §5.2.3: checked after the MAC, so a forged time cannot make us report a skew.
  if (Math.abs(nowSeconds - tsig.timeSigned) > tsig.fudge) {
    return { ok: false, reason: `reply signed at ${tsig.timeSigned}, ${nowSeconds - tsig.timeSigned} s from our clock (fudge ${tsig.fudge} s)`, tsig };
  }
  return { ok: true, tsig };
}
