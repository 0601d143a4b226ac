// dehydrated hook (FACTS.md): `hook deploy_cert DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE TIMESTAMP`.
// Other handler names never reach here: hooks/dehydrated exits 0 for them.
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import type { CertEvent } from './event.js';

/** dehydrated's PRIVATE_KEY_ROLLOVER key: made beside privkey.pem, used by the next renewal (NEXT-KEY-FACTS.md). */
export const DEHYDRATED_ROLL_KEY = 'privkey.roll.pem';

export function readDehydrated(args: string[]): CertEvent {
  if (args[0] !== 'deploy_cert') {
    throw new UsageError(`unexpected arguments "${args.join(' ')}": deploy takes positional arguments only from dehydrated (deploy_cert DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE TIMESTAMP)`);
  }
  const [, domain, key, cert, fullchain, chain] = args;
  if (!domain || !key || !cert || !fullchain || !chain) {
    throw new UsageError('dehydrated deploy_cert needs DOMAIN KEYFILE CERTFILE FULLCHAINFILE CHAINFILE [TIMESTAMP]');
  }
  return {
    client: 'dehydrated',
    name: domain.toLowerCase(),
    domains: [domain.toLowerCase()],
    files: { certificate: cert, chain, fullchain, key },
    sources: { certificate: 'CERTFILE', chain: 'CHAINFILE', fullchain: 'FULLCHAINFILE', key: 'KEYFILE' },
    // KEYFILE is <certdir>/privkey.pem. The roll key exists only with PRIVATE_KEY_ROLLOVER=yes:
    // this adapter is pure, so whoever reads it treats a missing file as "no next key".
    nextKey: join(dirname(key), DEHYDRATED_ROLL_KEY),
  };
}
