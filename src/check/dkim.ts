// One DKIM entry under `check`: every server serves the TXT record of the selector in service (and
// of a rotation on its way), and the p= served is the public half of the key the signer uses now.
import type { DnsRecord } from '../core/rdata.js';
import { fromStateRecords } from '../core/state-records.js';
import { isPending } from '../core/phases.js';
import { readDkimKey } from '../kinds/dkim/key.js';
import { formatDkimOwner, formatDkimTxt, parseDkimTags } from '../kinds/dkim/records.js';
import { readSignerKey } from '../kinds/dkim/signer.js';
import type { CheckContext } from './context.js';
import { checkRRsets } from './dns.js';

export async function checkDkimEntry(ctx: CheckContext, id: string): Promise<void> {
  const { s, findings } = ctx;
  const entry = s.dkimEntry(id);
  const es = s.entryState(id);
  const expected: DnsRecord[] = [...fromStateRecords(es.live?.records ?? []), ...es.rollovers.filter((r) => isPending(r.phase)).flatMap((r) => fromStateRecords(r.records))];
  const signer = readSignerKey(entry);
  if (expected.length === 0 && !signer) {
    findings.push({ severity: 'WARNING', id, check: 'dkim', subject: entry.domain, message: 'no DKIM key in service is known yet (the timer starts the first rotation)' });
    return;
  }
  const inService = signer ? formatDkimOwner(signer.selector, entry.domain) : expected[0]!.name;
  const names = [...new Set([inService, ...expected.map((r) => r.name)])];
  const served = await checkRRsets(ctx, id, 'TXT', names, expected, { needsDnssec: false });
  if (!signer) return;
  let want: string | undefined;
  try {
    want = parseDkimTags(formatDkimTxt(entry.keyType, readDkimKey(signer.keyFile).spkiDer)).get('p');
  } catch (err) {
    findings.push({ severity: 'UNKNOWN', id, check: 'dkim', subject: inService, message: `cannot read the signer's key ${signer.keyFile}: ${(err as Error).message}` });
    return;
  }
  for (const [server, records] of served) {
    const p = records.filter((r) => r.name === inService).map((r) => ('text' in r.rdata ? parseDkimTags(r.rdata.text).get('p') : undefined));
    const where = server.split('@')[1]!;
    if (p.includes(want)) findings.push({ severity: 'OK', id, check: 'dkim', subject: inService, server: where, message: `${where} serves the key the signer uses (selector ${signer.selector})` });
    else findings.push({ severity: 'CRITICAL', id, check: 'dkim', subject: inService, server: where, message: `${where} does not serve the key the ${entry.signer.preset} signer uses for selector ${signer.selector}: its mail fails verification` });
  }
}
