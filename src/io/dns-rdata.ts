// Pure decoders/encoders for the few rdata types danehook reads (RFC 1035 §3.3, RFC 3596,
// RFC 6698 §2.1, TXT per RFC 1035 §3.3.14). Names inside rdata may be compressed, so decoders take the whole message.
import packet from 'dns-packet';
import type { TlsaRdata } from '../core/tlsa.js';
import { txtStrings, type Rdata, type TxtRdata } from '../core/rdata.js';
import { readName, TYPE, WireFormatError, type WireRecord } from './dns-wire.js';

/** TLSA rdata with its 2-byte RDLENGTH prefix, via dns-packet's codec. */
export function encodeTlsaRdata(r: TlsaRdata): Buffer {
  return packet.tlsa.encode({ usage: r.usage, selector: r.selector, matchingType: r.matchingType, certificate: Buffer.from(r.data, 'hex') });
}

/** TXT rdata with its RDLENGTH prefix: the value as ≤255-byte character-strings. */
export function encodeTxtRdata(r: TxtRdata): Buffer {
  const body = Buffer.concat(txtStrings(r).map((part) => Buffer.concat([Buffer.from([part.length]), part])));
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([len, body]);
}

/** Either type, with its RDLENGTH prefix. */
export function encodeRdata(r: Rdata): Buffer {
  return 'text' in r ? encodeTxtRdata(r) : encodeTlsaRdata(r);
}

/** A TXT record's character-strings joined into one value (how DKIM reads it, RFC 6376 §3.6.2.2). */
export function parseTxtRdata(rr: WireRecord): TxtRdata {
  const parts: Buffer[] = [];
  for (let i = 0; i < rr.rdata.length; ) {
    const n = rr.rdata[i]!;
    if (i + 1 + n > rr.rdata.length) throw new WireFormatError(`TXT record for ${rr.name} has a truncated string`);
    parts.push(rr.rdata.subarray(i + 1, i + 1 + n));
    i += 1 + n;
  }
  return { type: 'TXT', text: Buffer.concat(parts).toString('utf8'), strings: parts.map((p) => p.toString('utf8')) };
}

export function parseTlsaRdata(rr: WireRecord): TlsaRdata {
  if (rr.type !== TYPE.TLSA || rr.rdata.length < 4) throw new WireFormatError(`TLSA record for ${rr.name} has ${rr.rdata.length} bytes of rdata`);
  return { usage: rr.rdata[0]!, selector: rr.rdata[1]!, matchingType: rr.rdata[2]!, data: rr.rdata.subarray(3).toString('hex') };
}

export function parseNameRdata(msg: Buffer, rr: WireRecord): string {
  const { name, end } = readName(msg, rr.rdataStart);
  if (end !== rr.rdataStart + rr.rdata.length) throw new WireFormatError(`bad name rdata for ${rr.name}`);
  return name;
}

export function parseSoaRdata(msg: Buffer, rr: WireRecord): { mname: string; serial: number; minimum: number } {
  const m = readName(msg, rr.rdataStart);
  const r = readName(msg, m.end);
  if (r.end + 20 !== rr.rdataStart + rr.rdata.length) throw new WireFormatError(`bad SOA rdata for ${rr.name}`);
  return { mname: m.name, serial: msg.readUInt32BE(r.end), minimum: msg.readUInt32BE(r.end + 16) };
}

/** Dotted quad or RFC 5952 text for an A or AAAA record. */
export function parseAddressRdata(rr: WireRecord): string {
  if (rr.type === TYPE.A && rr.rdata.length === 4) return [...rr.rdata].join('.');
  // dns-packet's codec reads the 2-byte RDLENGTH that precedes rdata; it formats per RFC 5952.
  if (rr.type === TYPE.AAAA && rr.rdata.length === 16) return packet.aaaa.decode(Buffer.concat([Buffer.from([0, 16]), rr.rdata]));
  throw new WireFormatError(`bad address rdata for ${rr.name}`);
}

/** An RRSIG's fields that say what it covers and until when (RFC 4034 §3.1). */
export interface RrsigInfo {
  typeCovered: number;
  algorithm: number;
  keyTag: number;
  signer: string;
  inception: Date;
  expiration: Date;
}

/** RFC 4034 §3.1: type covered, algorithm, labels, original TTL, expiration, inception, key tag, signer. */
export function parseRrsigRdata(msg: Buffer, rr: WireRecord): RrsigInfo {
  if (rr.rdata.length < 18) throw new WireFormatError(`RRSIG for ${rr.name} has ${rr.rdata.length} bytes of rdata`);
  const d = rr.rdata;
  const { name } = readName(msg, rr.rdataStart + 18);
  // Serial number arithmetic (RFC 4034 §3.1.5) matters only past 2106; seconds since the epoch here.
  return { typeCovered: d.readUInt16BE(0), algorithm: d[2]!, keyTag: d.readUInt16BE(16), signer: name, expiration: new Date(d.readUInt32BE(8) * 1000), inception: new Date(d.readUInt32BE(12) * 1000) };
}
