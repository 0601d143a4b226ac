// A certificate event: what one ACME client hands a hook, in one shape. Adapters in this folder
// are pure (env/argv in, CertEvent out); io/cert-files.ts reads the files they name.

export type ClientName = 'lego-v4' | 'lego-v5' | 'certbot' | 'acme.sh' | 'dehydrated' | 'explicit';

export interface CertFiles {
  /** The certificate file as the client names it (leaf first; lego's .crt also holds the issuer). */
  certificate?: string;
  chain?: string;
  fullchain?: string;
  key?: string;
  /** One file holding key and chain (lego --pem, DaneBot). */
  pem?: string;
}

export interface CertEvent {
  client: ClientName;
  /** The client's name for the certificate (lego domain, certbot lineage, acme.sh Le_Domain, dehydrated domain). */
  name?: string;
  domains: string[];
  files: CertFiles;
  /** Where each file path came from, for messages ("LEGO_CERT_PATH"). */
  sources: Partial<Record<keyof CertFiles, string>>;
  /** The client's key for its next renewal (acme.sh Le_Next_Domain_Key, dehydrated privkey.roll.pem
   * beside KEYFILE): absolute path; the file may be absent (the feature is off), empty or half
   * written (acme.sh rewrites it in place during a renewal) — then there is no next key right now. */
  nextKey?: string;
}

export type Env = Record<string, string | undefined>;

/** Record an optional file of the event with where its path came from; absent paths are skipped. */
export function addFile(event: CertEvent, kind: keyof CertFiles, path: string | undefined, source: string): void {
  if (!path) return;
  event.files[kind] = path;
  event.sources[kind] = source;
}
