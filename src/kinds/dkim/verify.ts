// The published key must be the key the signer now holds: every authoritative server serves, at
// the new selector, a p= equal to the installed key's public half (what a verifier will fetch).
import { formatHostPort } from '../../io/host-port.js';
import { UnavailableError } from '../../errors.js';
import type { Rollover } from '../../core/state.js';
import { groupByZone } from '../../rollover/records.js';
import type { Session } from '../../rollover/session.js';
import { readDkimKey } from './key.js';
import { formatDkimTxt, parseDkimTags } from './records.js';

export async function verifyPublishedKey(s: Session, id: string, r: Rollover, keyFile: string): Promise<void> {
  const name = r.records[0]!.name;
  const key = readDkimKey(keyFile);
  const want = parseDkimTags(formatDkimTxt(r.keyType === 'ed25519' ? 'ed25519' : 'rsa-2048', key.spkiDer)).get('p');
  const resolver = await s.resolver();
  const zone = [...(await groupByZone(s, [name])).keys()][0]!;
  for (const ns of await s.nameservers(zone)) {
    const answer = await resolver.queryRRset(ns, name, 'TXT');
    const served = answer.rrset.records.map((rd) => ('text' in rd ? parseDkimTags(rd.text).get('p') : undefined));
    if (!answer.authoritative || !served.includes(want)) {
      throw new UnavailableError(`${formatHostPort(ns)} does not serve the installed key's p= at ${name}`);
    }
  }
  s.ctx.log.info(`"${id}": every authoritative server serves the key the signer now uses at ${name}`);
}
