// Table-driven tests of TLSA presentation parsing/formatting and owner names (RFC 6698 §2.2, §3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTlsaOwner, formatTlsaRdata, parseTlsaParams, parseTlsaRdata } from '../../../src/core/tlsa.js';

const sha256 = 'ab'.repeat(32);

test('parseTlsaParams accepts only usage 0-3, selector 0-1, matching type 0-2', () => {
  const cases: [string, ReturnType<typeof parseTlsaParams>][] = [
    ['3 1 1', { usage: 3, selector: 1, matchingType: 1 }],
    [' 2 0 2 ', { usage: 2, selector: 0, matchingType: 2 }],
    ['0 0 0', { usage: 0, selector: 0, matchingType: 0 }],
    ['4 1 1', undefined],
    ['3 2 1', undefined],
    ['3 1 3', undefined],
    ['3 1', undefined],
    ['3 1 1 1', undefined],
    ['DANE-EE SPKI SHA-256', undefined],
    ['', undefined],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseTlsaParams(text), want, text);
});

test('parseTlsaRdata reads zone-file forms and checks hash lengths', () => {
  const cases: [string, string | undefined][] = [
    [`3 1 1 ${sha256}`, `3 1 1 ${sha256}`],
    [`3 1 1 ${sha256.toUpperCase()}`, `3 1 1 ${sha256}`],
    [`3 1 1 ( ${sha256.slice(0, 32)}\n ${sha256.slice(32)} )`, `3 1 1 ${sha256}`],
    [`3 1 2 ${'cd'.repeat(64)}`, `3 1 2 ${'cd'.repeat(64)}`],
    [`3 0 0 3082`, `3 0 0 3082`],
    [`3 1 1 ${sha256.slice(2)}`, undefined], // 31 bytes for SHA-256
    [`3 1 2 ${sha256}`, undefined], // 32 bytes for SHA-512
    [`3 1 1 xyz`, undefined],
    [`3 1 1 abc`, undefined], // odd hex length
    [`5 1 1 ${sha256}`, undefined],
  ];
  for (const [text, want] of cases) {
    const r = parseTlsaRdata(text);
    assert.equal(r ? formatTlsaRdata(r) : undefined, want, text);
  }
});

test('formatTlsaOwner builds _port._proto.domain. in lowercase', () => {
  const cases: [number, string, string, string][] = [
    [25, 'tcp', 'mx.example.com', '_25._tcp.mx.example.com.'],
    [443, 'tcp', 'WWW.Example.COM.', '_443._tcp.www.example.com.'],
    [853, 'udp', 'dns.example.net', '_853._udp.dns.example.net.'],
  ];
  for (const [port, proto, domain, want] of cases) assert.equal(formatTlsaOwner(port, proto, domain), want);
});
