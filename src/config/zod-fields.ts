// Zod field types shared by the config schema and the providers' own sections: durations and
// "host:port" addresses, each parsed by the one parser the rest of the code uses.
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { parseHostPort } from '../io/host-port.js';

/** "30s", "5m", "1h", or a bare number of seconds → milliseconds. */
export const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(v)} (use e.g. "30s", "5m", "1h")` });
    return z.NEVER;
  }
  return ms;
});

/** "host:port", "[v6]:port", or a bare host (port 53); the one parser lives in io/host-port.ts. */
export const hostPort = z.string().refine((s) => parseHostPort(s, 53) !== undefined, {
  message: 'expected "host:port" or "[ipv6]:port" with port 1-65535',
});
