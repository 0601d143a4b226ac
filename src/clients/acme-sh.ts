// acme.sh `--reloadcmd` (FACTS.md): CERT_PATH, CERT_KEY_PATH, CA_CERT_PATH, CERT_FULLCHAIN_PATH,
// Le_Domain; with --always-force-new-domain-key also Le_ForceNewDomainKey=1 and Le_Next_Domain_Key
// (NEXT-KEY-FACTS.md): the key the next renewal will use, `<CERT_KEY_PATH>.next`.
import { addFile, type CertEvent, type Env } from './event.js';
import { requireVars } from './require.js';

export const ACMESH_MARKERS = ['CERT_PATH', 'CERT_KEY_PATH', 'Le_Domain'];

export function readAcmeSh(env: Env): CertEvent {
  const v = requireVars(env, 'acme.sh', ['CERT_PATH', 'CERT_KEY_PATH']);
  const event: CertEvent = {
    client: 'acme.sh',
    domains: env.Le_Domain ? [env.Le_Domain.toLowerCase()] : [],
    files: { certificate: v.CERT_PATH!, key: v.CERT_KEY_PATH! },
    sources: { certificate: 'CERT_PATH', key: 'CERT_KEY_PATH' },
  };
  if (env.Le_Domain) event.name = env.Le_Domain.toLowerCase();
  addFile(event, 'chain', env.CA_CERT_PATH, 'CA_CERT_PATH');
  addFile(event, 'fullchain', env.CERT_FULLCHAIN_PATH, 'CERT_FULLCHAIN_PATH');
  // acme.sh exports Le_Next_Domain_Key from every issue/renew, with the flag or not (then it names
  // no file, or a stale one); only Le_ForceNewDomainKey=1 makes the renewal use it. A standalone
  // `--install-cert --reloadcmd` sets the flag but not the path: acme.sh's file name is fixed.
  if (env.Le_ForceNewDomainKey === '1') event.nextKey = env.Le_Next_Domain_Key || `${v.CERT_KEY_PATH}.next`;
  return event;
}
