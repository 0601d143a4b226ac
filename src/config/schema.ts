// The configuration schema (zod, strict): the single source of defaults and validation rules.
// Unknown keys are errors; every message names its path. See DESIGN.md "Configuration".
import { z } from 'zod';
import { duration, hostPort } from './zod-fields.js';
import { powerdnsSchema } from '../providers/powerdns/config.js';
import { execSchema } from '../providers/exec/config.js';
import { parseTlsaParams } from '../core/tlsa.js';
import { applyPreset } from './presets.js';
import { DEFAULT_STATE_DIR, ROLLOVER_DEFAULTS as D } from './defaults.js';
import { dkimSchema } from './dkim-schema.js';
import { isTrustAnchorUsage, type IssuerCert } from '../core/issuers.js';

const port = z.number().int().min(1, 'port must be 1-65535').max(65535, 'port must be 1-65535');

// A TLSA owner base name: letters, digits, hyphens, dots; no wildcard (RFC 6698 §3 owners are concrete).
const domain = z
  .string()
  .transform((s) => s.toLowerCase().replace(/\.$/, ''))
  .refine((s) => /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)+$/.test(s), {
    message: 'not a valid DNS name (fully qualified, no wildcard)',
  });

const tlsaParams = z.string().refine((s) => parseTlsaParams(s) !== undefined, {
  message: 'TLSA parameters must be "usage selector matching-type", e.g. "3 1 1" (usage 0-3, selector 0-1, matching type 0-2)',
});

const fileMode = z.string().regex(/^0?[0-7]{3}$/, 'mode must be octal like "0600"');

const tsigSchema = z
  .strictObject({
    name: z.string().min(1).transform((s) => s.toLowerCase().replace(/\.$/, '')),
    algorithm: z.enum(['hmac-sha256', 'hmac-sha384', 'hmac-sha512', 'hmac-sha1']).default('hmac-sha256'),
    secretFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
  })
  .refine((t) => !(t.secretFile && t.keyFile), { message: 'give either secretFile or keyFile, not both' });

// Each provider has its own section named after it (providers/<name>/config.ts); exactly the chosen
// one must be present, so a forgotten `provider:` line cannot silently fall back to another.
const PROVIDER_SECTIONS = { rfc2136: 'tsig', powerdns: 'powerdns', exec: 'exec' } as const;

const dnsSchema = z
  .strictObject({
    provider: z.enum(['rfc2136', 'powerdns', 'exec']).default('rfc2136'),
    /** The primary's DNS address: nameserver discovery and the probe's address lookups ask it. */
    server: hostPort,
    tsig: tsigSchema.optional(),
    powerdns: powerdnsSchema.optional(),
    exec: execSchema.optional(),
    nameservers: z.union([z.literal('auto'), z.array(hostPort).min(1)]).default('auto'),
    nameserverPort: port.default(53),
    ttl: z.number().int().min(1, 'ttl must be at least 1 second').max(604800, 'ttl above one week is not sensible for a rollover').default(3600),
    timeout: duration.default(5000),
    /**
     * The zone(s) the records live in, when known: no SOA lookup per name to find them (a name may
     * sit in a delegated zone, so by default each base name is asked). Entries may name their own.
     */
    zone: z.union([domain, z.array(domain).min(1)]).optional(),
  })
  .superRefine((d, ctx) => {
    for (const [provider, section] of Object.entries(PROVIDER_SECTIONS)) {
      const present = d[section] !== undefined;
      if (provider === d.provider && !present) ctx.addIssue({ code: 'custom', path: [section], message: `dns.provider is ${d.provider}: dns.${section} is required` });
      if (provider !== d.provider && present) ctx.addIssue({ code: 'custom', path: [section], message: `dns.${section} belongs to provider ${provider}, but dns.provider is ${d.provider}` });
    }
  });

const rolloverSchema = z.strictObject({
  delayFactor: z.number().min(2, 'delayFactor must be at least 2 (RFC 7671 §8.1: two TTLs)').max(100).default(D.delayFactor),
  minDelay: duration.default(D.minDelay),
  propagationTimeout: duration.default(D.propagationTimeout),
  cleanupDelay: duration.default(D.cleanupDelay),
  /** Added to delayFactor × TTL for caches that count whole seconds (config/defaults.ts). */
  margin: duration.default(D.margin),
});

const installSchema = z.strictObject({
  certificate: z.string().min(1).optional(),
  fullchain: z.string().min(1).optional(),
  chain: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  combined: z.string().min(1).optional(),
  // Unset: an existing target keeps its own owner, group and mode; a new file is 0600, owned by
  // the user danehook runs as (root). Set: applied on every install (rollback restores the backup's).
  mode: fileMode.optional(),
  owner: z.string().min(1).optional(),
  group: z.string().min(1).optional(),
  /** Install even where accounts other than root (and danehook's user) can write the directory. */
  allowWritableDir: z.boolean().default(false),
  /** A target that is a symlink is replaced by a regular file (default: refused; never followed). */
  replaceSymlinks: z.boolean().default(false),
});

const argv = z.array(z.string().min(1)).min(1, 'give the command as a list: ["systemctl", "reload", "postfix"]');

const probeSchema = z.strictObject({
  protocol: z.enum(['smtp', 'imap', 'pop3', 'tls', 'none']).optional(),
  addresses: z.union([z.literal('auto'), z.array(hostPort).min(1)]).default('auto'),
  timeout: duration.default(10_000),
  /** How long after a reload the new certificate may take to appear (postfix: ~0.13 s). */
  grace: duration.default(5_000),
});

const certificateSchema = z
  .strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'id must be 1-64 characters of letters, digits, ".", "_", "-", starting with a letter or digit')
    .refine((s) => !s.includes('..'), 'id must not contain ".."'),
  domains: z.array(domain).min(1, 'list at least one domain'),
  preset: z.enum(['postfix', 'dovecot', 'nginx', 'apache']).optional(),
  ports: z.array(port).min(1, 'list at least one port').optional(),
  protocol: z.enum(['tcp', 'udp', 'sctp']).default('tcp'),
  tlsa: z.array(tlsaParams).min(1).default(['3 1 1']),
  trustAnchor: z.enum(['issuer', 'root']).default('issuer'),
  /**
   * DANE-TA issuer set: every CA that may sign this entry's certificates (README "Issuer sets"),
   * as PEM files or shipped set names; loadConfig reads them (config/issuer-sets.ts).
   */
  issuers: z.array(z.string().min(1)).min(1, 'list at least one PEM file or set name, or leave "issuers" out').optional(),
  install: installSchema.optional(),
  /**
   * The certificate the service presents now, when danehook cannot see it otherwise (probe off,
   * or behind NAT) — e.g. certbot's old live/<name>/fullchain.pem — or "none" when nothing is
   * served yet. Read only while the live certificate is unknown (adoption).
   */
  live: z.string().min(1).optional(),
  /** The zone this entry's TLSA names are in (see dns.zone). */
  zone: domain.optional(),
  /**
   * Next-key mode (RFC 7671 §8.1 "current + next"): publish the key the next renewal will use long
   * before it, so that renewal needs no wait. auto: the client's next key (acme.sh
   * --always-force-new-domain-key, dehydrated PRIVATE_KEY_ROLLOVER) or, for lego and manual
   * deploys, one danehook generates (`danehook next-key`); client: only the client's; off: none.
   */
  nextKey: z.strictObject({ mode: z.enum(['auto', 'client', 'off']).default('auto') }).prefault({}),
  reload: argv.optional(),
  reloadTimeout: duration.default(60_000),
  activate: argv.optional(),
  probe: probeSchema.prefault({}),
  })
  .transform((entry, ctx) => {
    const e = applyPreset(entry);
    if (!e.ports) {
      ctx.addIssue({ code: 'custom', path: ['ports'], message: 'list at least one port (or choose a preset)' });
      return z.NEVER;
    }
    // The install form's defaults are in installSchema; a preset-only install gets them too.
    const install = e.install ? installSchema.parse(e.install) : undefined;
    const { issuers: issuerSources, ...rest } = e;
    if (issuerSources && !e.tlsa.some((t) => { const p = parseTlsaParams(t); return p !== undefined && isTrustAnchorUsage(p); })) {
      // Refused, not ignored: a set that publishes nothing would look like pinning the CAs while
      // pinning none, and would still refuse renewals from other CAs for no benefit.
      ctx.addIssue({ code: 'custom', path: ['issuers'], message: `an issuer set is used only by trust-anchor records: add "2 1 1" to tlsa (e.g. tlsa: ["3 1 1", "2 1 1"]) or remove "issuers"` });
      return z.NEVER;
    }
    if (issuerSources && install && !install.fullchain && !install.combined && !install.chain) {
      // RFC 7671 §5.2.2: a digest of the TA matches only a certificate the service sends.
      ctx.addIssue({ code: 'custom', path: ['install'], message: 'with "issuers" the service must send the issuer certificate: install "fullchain", "combined" or "chain", not only "certificate"' });
      return z.NEVER;
    }
    // `issuers` is filled by loadConfig: reading certificates loads the X.509 parser, which only
    // entries with an issuer set should pay for (status and pre-deploy stay light).
    return { ...rest, ports: e.ports, install, issuerSources, issuers: undefined as readonly IssuerCert[] | undefined };
  });

export const configSchema = z
  .strictObject({
    stateDir: z.string().min(1).default(DEFAULT_STATE_DIR),
    dns: dnsSchema,
    rollover: rolloverSchema.prefault({}),
    certificates: z.array(certificateSchema).default([]),
    /**
     * DNSSEC knowledge for `check` and the rollover: a validating resolver ("host:port") whose AD
     * bit says the chain of trust (DS at the parent → DNSKEY → RRSIG) validates.
     */
    dnssec: z.strictObject({ resolver: hostPort.optional() }).optional(),
    /** DKIM keys rotated on the same core (config/dkim-schema.ts). */
    dkim: z.array(dkimSchema).default([]),
  })
  .superRefine((c, ctx) => {
    if (c.certificates.length + c.dkim.length === 0) ctx.addIssue({ code: 'custom', path: ['certificates'], message: 'configure at least one certificate entry (or a dkim entry)' });
    // Ids name state entries, locks on work and command targets: unique across both kinds.
    const seen = new Map<string, string>();
    for (const [i, e] of c.certificates.entries()) {
      if (e.zone && !e.domains.every((d) => d === e.zone || d.endsWith(`.${e.zone}`))) ctx.addIssue({ code: 'custom', path: ['certificates', i, 'zone'], message: `zone ${e.zone} does not contain every domain of the entry (${e.domains.join(', ')})` });
    }
    for (const [kind, list] of [['certificates', c.certificates], ['dkim', c.dkim]] as const) {
      list.forEach((entry, i) => {
        const prev = seen.get(entry.id.toLowerCase());
        if (prev !== undefined) ctx.addIssue({ code: 'custom', path: [kind, i, 'id'], message: `duplicate id "${entry.id}" (also ${prev})` });
        else seen.set(entry.id.toLowerCase(), `${kind}[${i}]`);
      });
    }
  });

/** Every zone the config names (dns.zone and the entries' zone): the provider's known zones. */
export function listConfiguredZones(c: { dns: { zone?: string | string[] }; certificates: { zone?: string }[]; dkim: { zone?: string }[] }): string[] {
  const global = c.dns.zone === undefined ? [] : Array.isArray(c.dns.zone) ? c.dns.zone : [c.dns.zone];
  return [...new Set([...global, ...c.certificates.map((e) => e.zone), ...c.dkim.map((e) => e.zone)].filter((z): z is string => Boolean(z)))];
}

export type Config = z.output<typeof configSchema>;
export type DnsConfig = Config['dns'];
export type TsigConfig = NonNullable<DnsConfig['tsig']>;
export type RolloverConfig = Config['rollover'];
export type CertificateEntry = Config['certificates'][number];
