// The `dns.powerdns` section: where the PowerDNS Authoritative HTTP API listens. The API key is
// read from apiKeyFile or $DANEHOOK_PDNS_API_KEY (config/provider-secret.ts), never from argv.
import { z } from 'zod';

export const powerdnsSchema = z.strictObject({
  /** Base URL of the webserver, e.g. "http://127.0.0.1:8081" (the API lives under /api/v1). */
  url: z
    .string()
    .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), { message: 'expected an http:// or https:// URL, e.g. "http://127.0.0.1:8081"' })
    .transform((u) => u.replace(/\/+$/, '')),
  /** The API's server id; "localhost" for every PowerDNS Authoritative server. */
  serverId: z.string().min(1).default('localhost'),
  apiKeyFile: z.string().min(1).optional(),
});

export type PowerDnsConfig = z.output<typeof powerdnsSchema>;
