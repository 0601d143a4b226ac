// Which kind an id is: the one place that maps config sections to credential kinds.
import type { Session } from '../rollover/session.js';
import { dkimKind } from './dkim/index.js';
import { tlsKind } from './tls/index.js';
import type { CredentialKind } from './types.js';

export function kindOf(s: Session, id: string): CredentialKind {
  return s.kindOf(id) === 'dkim' ? dkimKind : tlsKind;
}
