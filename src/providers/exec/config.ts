// The `dns.exec` section: the adapter's argv (run without a shell), its timeout, and the names of
// the environment variables it may see (nothing else of danehook's environment is passed on).
import { z } from 'zod';
import { duration } from '../../config/zod-fields.js';

export const execSchema = z.strictObject({
  command: z
    .array(z.string().min(1))
    .min(1, 'give the adapter as a list: ["/usr/local/lib/danehook/nsupdate-adapter", "--flag"]')
    .refine((argv) => argv[0]!.startsWith('/'), { message: 'the adapter (first element) must be an absolute path: root must not search $PATH' }),
  /** Per request; the adapter is killed (SIGTERM, then SIGKILL) when it runs longer. */
  timeout: duration.default(30_000),
  env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')).default([]),
});

export type ExecConfig = z.output<typeof execSchema>;
