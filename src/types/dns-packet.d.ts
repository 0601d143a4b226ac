// Local additions to @types/dns-packet: the per-record codecs dns-packet exports at runtime
// (used to encode TLSA rdata) and the header fields decode() returns but the types omit.
import 'dns-packet';

declare module 'dns-packet' {
  interface RdataCodec<T> {
    encode(data: T, buf?: Buffer, offset?: number): Buffer;
    decode(buf: Buffer, offset?: number): T;
    encodingLength(data: T): number;
  }
  /** TLSA rdata (RFC 6698 §2.1); encode() writes the 2-byte RDLENGTH first. */
  export const tlsa: RdataCodec<TlsaData> & { encode: { bytes: number } };
  /** Opaque rdata (RFC 3597); encode() writes the 2-byte RDLENGTH first. */
  export const unknown: RdataCodec<Buffer>;
  /** AAAA rdata; decode() expects the RDLENGTH prefix and returns RFC 5952 text. */
  export const aaaa: RdataCodec<string>;
  interface DecodedPacket {
    rcode: string;
    opcode: string;
  }
}
