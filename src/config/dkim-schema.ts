// The `dkim:` entries (issue 12): one signing domain + selector pattern each, rotated every
// `every`, the old selector kept `retain` for mail in flight, then deleted or revoked (RFC 6376
// §3.6.1: an empty p=). The signer is OpenDKIM (KeyTable/SigningTable), rspamd (selector/path maps) or custom.
import { z } from 'zod';
import { duration } from './zod-fields.js';

const path = z.string().min(1).refine((p) => p.startsWith('/'), { message: 'give an absolute path' });
const argv = z.array(z.string().min(1)).min(1, 'give the command as a list: ["systemctl", "reload", "opendkim"]');

/** Placeholders a selector pattern may use; the result must be a DNS label (RFC 6376 §3.1). */
export const SELECTOR_PLACEHOLDERS = ['{id}', '{yyyy}', '{mm}', '{dd}'] as const;

const selectorPattern = z
  .string()
  .min(1)
  .refine((p) => /^[a-z0-9-]+$/i.test(p.replace(/\{(id|yyyy|mm|dd)\}/g, 'x')), {
    message: 'selector pattern: letters, digits, "-" and the placeholders {id} {yyyy} {mm} {dd}',
  })
  .refine((p) => /\{(yyyy|mm|dd)\}/.test(p), { message: 'selector pattern needs a date placeholder ({yyyy}, {mm} or {dd}): selectors are never reused' });

const signerSchema = z.discriminatedUnion('preset', [
  z.strictObject({
    preset: z.literal('opendkim'),
    /** OpenDKIM KeyTable and SigningTable (plain files; danehook rewrites only this domain's lines). */
    keyTable: path,
    signingTable: path,
    /** Where private keys go, readable by the signer only. */
    keyDir: path,
  }),
  z.strictObject({
    preset: z.literal('rspamd'),
    /**
     * rspamd dkim_signing `selector_map` ("domain selector" per line), with `path =
     * "<keyDir>/$domain.$selector.key"` in rspamd's config: one file changes per switch. rspamd
     * re-reads the map by itself within seconds, so writing it is the switch (a separate path_map
     * written alongside was seen to pair the old selector with the new key).
     */
    selectorMap: path,
    keyDir: path,
  }),
  z.strictObject({
    preset: z.literal('custom'),
    /** Runs with DANEHOOK_DKIM_SELECTOR, DANEHOOK_DKIM_KEY_FILE, DANEHOOK_DKIM_DOMAIN (and _PREVIOUS_ ones on rollback). */
    activate: argv,
    keyDir: path,
  }),
]);

export const dkimSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'id must be 1-63 lowercase letters, digits or "-", starting with a letter or digit'),
  domain: z
    .string()
    .transform((s) => s.toLowerCase().replace(/\.$/, ''))
    .refine((s) => /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/.test(s), { message: 'not a valid domain name' }),
  selector: selectorPattern.default('{id}-{yyyy}{mm}'),
  keyType: z.enum(['rsa-2048', 'rsa-3072', 'ed25519']).default('rsa-2048'),
  every: duration.default(90 * 86_400_000),
  /** How long the old selector stays published after the switch (mail in queues is verified late). */
  retain: duration.default(7 * 86_400_000),
  retire: z.enum(['delete', 'revoke']).default('delete'),
  signer: signerSchema,
  reload: argv.optional(),
  /** Runs after the switch (e.g. send a message through the signer and verify it); failure rolls back. */
  verify: argv.optional(),
  reloadTimeout: duration.default(60_000),
  /** Owner, group and mode of installed private keys (default: the key dir's owner and group, 0600). */
  keyOwner: z.string().min(1).optional(),
  keyGroup: z.string().min(1).optional(),
  keyMode: z.string().regex(/^0?[0-7]{3}$/, 'mode must be octal like "0600"').default('0600'),
  ttl: z.number().int().min(1).max(604800).optional(),
  /** The zone the selector records are in (see dns.zone). */
  zone: z.string().transform((s) => s.toLowerCase().replace(/\.$/, '')).optional(),
});

export type DkimEntry = z.output<typeof dkimSchema>;
