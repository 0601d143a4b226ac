// One queued renewal, as `deploy` leaves it in stateDir/inbox when it cannot take the lock: the
// entry it belongs to, the certificate with chain and key (PEM), and who handed it over when. Pure.

export interface InboxItem {
  version: 1;
  id: string;
  client: string;
  receivedAt: string;
  /** SHA-256 of the leaf's SPKI and DER, for `status`; the PEM stays the truth. */
  spki: string;
  fingerprint: string;
  /** Private key, leaf, issuers. */
  pem: string;
  /** The client's next key (acme.sh Le_Next_Domain_Key, dehydrated privkey.roll.pem), by path. */
  nextKey?: string;
}

export function formatInboxItem(item: InboxItem): string {
  return JSON.stringify(item) + '\n';
}

/** Parse an item; throws Error with what is wrong (the caller names the file). */
export function parseInboxItem(text: string): InboxItem {
  const raw = JSON.parse(text) as Partial<InboxItem> | null;
  if (!raw || raw.version !== 1) throw new Error(`unknown inbox item version ${JSON.stringify(raw?.version)}`);
  for (const k of ['id', 'client', 'receivedAt', 'spki', 'fingerprint', 'pem'] as const) {
    if (typeof raw[k] !== 'string' || raw[k] === '') throw new Error(`inbox item lacks "${k}"`);
  }
  return raw as InboxItem;
}

/**
 * A file name unique to one renewal that sorts in arrival order: milliseconds (13 digits until the
 * year 2286), then pid and randomness against two deploys in the same millisecond.
 */
export function computeInboxName(now: Date, pid: number, random: string): string {
  return `${String(now.getTime()).padStart(13, '0')}-${pid}-${random}.json`;
}

export const INBOX_NAME = /^\d{13}-\d+-[0-9a-f]+\.json$/;
