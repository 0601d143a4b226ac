// Decide which ACME client called us and build its CertEvent: explicit flags win, then dehydrated's
// argv, then exactly one client's environment. Ambiguous or partial input is a UsageError (64).
import { UsageError } from '../errors.js';
import type { CertEvent, Env } from './event.js';
import { readLegoV4, readLegoV5, LEGO_V4_MARKERS, LEGO_V5_MARKERS } from './lego.js';
import { readCertbot, CERTBOT_MARKERS } from './certbot.js';
import { readAcmeSh, ACMESH_MARKERS } from './acme-sh.js';
import { readDehydrated } from './dehydrated.js';
import { readExplicit, type ExplicitFiles } from './explicit.js';

const ENV_CLIENTS = [
  { client: 'lego v5', markers: LEGO_V5_MARKERS, read: readLegoV5 },
  { client: 'lego v4', markers: LEGO_V4_MARKERS, read: readLegoV4 },
  { client: 'certbot', markers: CERTBOT_MARKERS, read: readCertbot },
  { client: 'acme.sh', markers: ACMESH_MARKERS, read: readAcmeSh },
] as const;

const EXPECTED =
  'give --pem FILE or --cert FILE --key FILE [--chain FILE], or run from lego (LEGO_CERT_PATH / LEGO_HOOK_CERT_PATH), ' +
  'certbot (RENEWED_LINEAGE), acme.sh (CERT_PATH, CERT_KEY_PATH) or dehydrated (deploy_cert DOMAIN KEY CERT FULLCHAIN CHAIN TIMESTAMP)';

/** Build the event for this run. `args` are positional arguments after the command (dehydrated). */
export function detectCertEvent(input: { env: Env; explicit: ExplicitFiles; args: string[] }): CertEvent {
  const { env, explicit, args } = input;
  if (explicit.pem || explicit.cert || explicit.key || explicit.chain) return readExplicit(explicit);
  if (args.length > 0) return readDehydrated(args);
  const present = ENV_CLIENTS.filter((c) => c.markers.some((m) => env[m]));
  if (present.length === 0) throw new UsageError(`no certificate given: ${EXPECTED}`);
  if (present.length > 1) {
    throw new UsageError(`ambiguous hook environment: variables of ${present.map((c) => c.client).join(' and ')} are both set; pass --pem or --cert/--key explicitly`);
  }
  return present[0]!.read(env);
}
