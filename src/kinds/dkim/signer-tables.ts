// The signer's own configuration, edited line by line so an operator's other domains stay as they
// are: OpenDKIM KeyTable ("<keyname> <domain>:<selector>:<keyfile>") and SigningTable ("<pattern>
// <keyname>"), rspamd dkim_signing selector_map / path_map ("<domain> <value>"). Pure text in, text out.

export interface SignerKey {
  selector: string;
  keyFile: string;
}

const keyName = (selector: string, domain: string) => `${selector}._domainkey.${domain}`;
const fields = (line: string) => line.trim().split(/\s+/);
const isEntry = (line: string) => line.trim() !== '' && !line.trim().startsWith('#');

/** Lines of `text` with those matching `mine` replaced by `replacement` (or it appended once). */
function replaceLines(text: string, mine: (f: string[]) => boolean, replacement: string): string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const out: string[] = [];
  let placed = false;
  for (const line of lines) {
    if (isEntry(line) && mine(fields(line))) {
      if (!placed) out.push(replacement);
      placed = true;
    } else {
      out.push(line);
    }
  }
  if (!placed) out.push(replacement);
  return out.join('\n') + '\n';
}

/** OpenDKIM KeyTable: this domain's key lines become the one for `key`. */
export function writeKeyTable(text: string, domain: string, key: SignerKey): string {
  return replaceLines(text, (f) => (f[1] ?? '').split(':')[0] === domain, `${keyName(key.selector, domain)} ${domain}:${key.selector}:${key.keyFile}`);
}

/** The KeyTable's names of this domain's keys (any naming: "s0-example.test" as well as "<sel>._domainkey.<domain>"). */
export function listKeyNames(keyTable: string, domain: string): Set<string> {
  return new Set(keyTable.split('\n').filter(isEntry).map(fields).filter((f) => (f[1] ?? '').split(':')[0] === domain).map((f) => f[0]!));
}

/**
 * OpenDKIM SigningTable: lines naming one of this domain's keys (as the KeyTable read before the
 * switch names them) point at the new key name; with none, "<domain> <keyname>" is added.
 */
export function writeSigningTable(text: string, domain: string, selector: string, previousKeyTable: string): string {
  const name = keyName(selector, domain);
  const ours = listKeyNames(previousKeyTable, domain);
  ours.add(name);
  const mine = (l: string) => isEntry(l) && ours.has(fields(l)[1] ?? '');
  if (!text.split('\n').some(mine)) return replaceLines(text, () => false, `${domain} ${name}`);
  return text.split('\n').map((l) => (mine(l) ? `${fields(l)[0]} ${name}` : l)).join('\n');
}

/** The key OpenDKIM signs this domain with now, from its two tables (undefined: none). */
export function readOpendkimKey(keyTable: string, signingTable: string, domain: string): SignerKey | undefined {
  const ours = listKeyNames(keyTable, domain);
  const name = signingTable.split('\n').filter(isEntry).map(fields).find((f) => ours.has(f[1] ?? ''))?.[1];
  if (!name) return undefined;
  const entry = keyTable.split('\n').filter(isEntry).map(fields).find((f) => f[0] === name)?.[1];
  const [d, selector, keyFile] = (entry ?? '').split(':');
  return d === domain && selector && keyFile ? { selector, keyFile } : undefined;
}

/** rspamd map ("<domain> <value>"): the value for this domain set. */
export function writeDomainMap(text: string, domain: string, value: string): string {
  return replaceLines(text, (f) => f[0] === domain, `${domain} ${value}`);
}

export function readDomainMap(text: string, domain: string): string | undefined {
  return text.split('\n').filter(isEntry).map(fields).find((f) => f[0] === domain)?.[1];
}
