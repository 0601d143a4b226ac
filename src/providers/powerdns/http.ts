// One request to the PowerDNS HTTP API (Node's global fetch, X-API-Key, a timeout) and the mapping
// of every failure onto danehook's exit codes. Messages name the URL, never the key.
import { ConfigError, DnsProtocolError, DnsRefusedError, formatExcerpt, UnavailableError } from '../../errors.js';

export interface ApiClient {
  /** GET/PATCH/PUT a path under `${url}/api/v1`; the parsed JSON, or undefined for 204. */
  request(method: 'GET' | 'PATCH' | 'PUT', path: string, what: string, body?: unknown): Promise<unknown>;
  readonly baseUrl: string;
}

export interface ApiClientOptions {
  url: string;
  apiKey: string;
  timeoutMs: number;
}

// Enough of an error body to act on ({"error": "..."} from PowerDNS, or a proxy's page), not a dump.
function describeBody(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: unknown };
    if (typeof j?.error === 'string') return j.error;
  } catch {
    /* not JSON: show the start of it */
  }
  return formatExcerpt(text) || '(empty body)';
}

/** Why fetch() itself failed: refused, reset, name not found, TLS, timeout. */
function describeNetworkError(err: unknown): string {
  if ((err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError') return 'timed out';
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
}

export function createApiClient(opts: ApiClientOptions): ApiClient {
  const baseUrl = `${opts.url}/api/v1`;
  async function request(method: 'GET' | 'PATCH' | 'PUT', path: string, what: string, body?: unknown): Promise<unknown> {
    const url = `${baseUrl}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { 'X-API-Key': opts.apiKey, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(opts.timeoutMs),
        // A redirect could carry the key to another host: never follow one.
        redirect: 'manual',
      });
    } catch (err) {
      throw new UnavailableError(`PowerDNS API ${method} ${url} (${what}) failed: ${describeNetworkError(err)}`, { hint: 'is the PowerDNS webserver running with api=yes, is dns.powerdns.url right, and is this host in webserver-allow-from (PowerDNS closes other connections without a reply)?' });
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new UnavailableError(`PowerDNS API ${method} ${url} (${what}): the reply broke off: ${describeNetworkError(err)}`);
    }
    const status = `HTTP ${res.status}`;
    if (res.status === 401 || res.status === 403) {
      throw new DnsRefusedError(`PowerDNS API ${method} ${url} (${what}) refused the API key: ${status}`, {
        hint: 'check dns.powerdns.apiKeyFile / $DANEHOOK_PDNS_API_KEY against api-key in pdns.conf',
      });
    }
    if (res.status === 404) {
      // PowerDNS answers 404 for an unknown zone or server id, and so does any other web server for a wrong URL path.
      throw new ConfigError(`PowerDNS API ${method} ${url} (${what}): not found (${status}: ${describeBody(text)})`, {
        hint: 'the zone must exist on this PowerDNS server (pdnsutil list-all-zones); check dns.powerdns.url (without /api/v1) and serverId',
      });
    }
    if (res.status >= 500) throw new UnavailableError(`PowerDNS API ${method} ${url} (${what}): ${status}: ${describeBody(text)}`);
    if (res.status === 422 || res.status === 400) throw new DnsProtocolError(`PowerDNS API ${method} ${url} (${what}) rejected the request: ${status}: ${describeBody(text)}`);
    if (res.status < 200 || res.status > 299) throw new DnsProtocolError(`PowerDNS API ${method} ${url} (${what}): unexpected ${status}: ${describeBody(text)}`);
    if (res.status === 204 || text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new DnsProtocolError(`PowerDNS API ${method} ${url} (${what}): ${status} but the body is not JSON: ${formatExcerpt(text)}`, { hint: 'is dns.powerdns.url the PowerDNS webserver (not a proxy or another service)?' });
    }
  }
  return { request, baseUrl };
}
