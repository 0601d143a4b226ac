// Exec protocol version 1 (examples/providers/README.md is the contract adapter authors read):
// the requests danehook writes and the strict schemas every reply must pass. Pure.
import { z } from 'zod';
import type { RecordType } from '../../core/rdata.js';

export const PROTOCOL_VERSION = 1;

export interface ListRequest {
  version: 1;
  op: 'list';
  type: RecordType;
  names: string[];
}
export interface ApplyRequest {
  version: 1;
  op: 'apply';
  zone: string;
  changes: { op: 'create' | 'delete'; name: string; ttl: number; type: RecordType; data: string }[];
}
export interface CheckRequest {
  version: 1;
  op: 'check';
  zone: string;
}
export type ExecRequest = ListRequest | ApplyRequest | CheckRequest;

export const ERROR_KINDS = ['auth', 'unreachable', 'invalid', 'conflict'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

// Strict objects: an unknown field is a reply this version does not define (a typo, or a newer
// protocol), and guessing what it meant is how a hook deletes the wrong record.
const version = z.literal(PROTOCOL_VERSION);

export const errorReplySchema = z.strictObject({
  version,
  error: z.strictObject({ kind: z.enum(ERROR_KINDS), message: z.string().max(4096) }),
});

export const listReplySchema = z.strictObject({
  version,
  rrsets: z.array(
    z.strictObject({
      name: z.string().min(1).max(255),
      ttl: z.number().int().min(0).max(2 ** 31 - 1).nullable(),
      type: z.enum(['TLSA', 'TXT']),
      data: z.array(z.string().max(70_000)),
    }),
  ),
});

/** apply and check: `atomic: false` says the adapter cannot promise all-or-nothing per zone. */
export const okReplySchema = z.strictObject({ version, ok: z.literal(true), atomic: z.boolean().optional() });

export type ErrorReply = z.output<typeof errorReplySchema>;
export type ListReply = z.output<typeof listReplySchema>;
export type OkReply = z.output<typeof okReplySchema>;
