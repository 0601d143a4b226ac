// `danehook plan --id <dkim id>`: what the next rotation would do, read-only — the selector it
// would publish (a new key of keyType), the record in service that stays for `retain` after the
// switch, and when the timer starts it. No key is generated, nothing is written.
import { formatDuration } from '../../config/duration.js';
import { isRotationDue } from '../../core/due.js';
import { fromStateRecords } from '../../core/state-records.js';
import { formatZoneLine } from '../../core/format-plan.js';
import { StateStore } from '../../io/state-store.js';
import type { LoadedConfig } from '../../config/load.js';
import type { CommandContext } from '../../commands/context.js';
import { computeSelector, formatDkimOwner, parseSelector } from './records.js';

export function planDkim(ctx: CommandContext, loaded: LoadedConfig, id: string): number {
  const entry = loaded.config.dkim.find((d) => d.id === id)!;
  let es;
  try {
    es = new StateStore(loaded.config.stateDir).load().state.dkim[id];
  } catch {
    es = undefined;
  }
  const now = ctx.now();
  const used = new Set([...(es?.rollovers ?? []).flatMap((r) => r.records), ...(es?.owned ?? [])].map((r) => parseSelector(r.name)));
  const selector = computeSelector(entry.selector, id, now, used);
  const due = isRotationDue(es, now);
  const plan = {
    id, domain: entry.domain, kind: 'dkim',
    inService: fromStateRecords(es?.live?.records ?? []).map(formatZoneLine),
    next: { selector, owner: formatDkimOwner(selector, entry.domain), keyType: entry.keyType, ttl: entry.ttl ?? loaded.config.dns.ttl },
    due, rotateAt: es?.live?.notAfter ?? null,
    switchAfter: `every authoritative server served the new record for ${loaded.config.rollover.delayFactor} × TTL + ${formatDuration(loaded.config.rollover.margin)}`,
    retireAfter: formatDuration(entry.retain), retire: entry.retire,
  };
  if (ctx.options.json) {
    ctx.out(JSON.stringify(plan, null, 2) + '\n');
    return 0;
  }
  ctx.out([
    `; danehook plan for DKIM "${id}" (${entry.domain}, signer ${entry.signer.preset})`,
    ...(plan.inService.length ? ['; in service:', ...plan.inService] : ['; no key in service known yet (the first run adopts the one the signer uses)']),
    `; next rotation ${due ? 'is due now (the next post-deploy starts it)' : `at ${plan.rotateAt}`}: a new ${entry.keyType} key at`,
    `${plan.next.owner} ${plan.next.ttl} IN TXT "v=DKIM1; k=${entry.keyType === 'ed25519' ? 'ed25519' : 'rsa'}; p=<new key>"`,
    `; the signer switches once ${plan.switchAfter}; the previous selector is ${entry.retire === 'revoke' ? 'revoked' : 'deleted'} ${plan.retireAfter} after the switch`,
  ].join('\n') + '\n');
  return 0;
}
