// `danehook dkim rotate --id ID`: start a DKIM rotation now (new key and selector published; the
// timer switches the signer once every server has served it long enough). `danehook dkim show
// --id ID`: the TXT records of the key in service and of the one on its way, for manual publication.
import { loadConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { fromStateRecords } from '../core/state-records.js';
import { formatZoneLine } from '../core/format-plan.js';
import { isPending } from '../core/phases.js';
import { startRotation } from '../kinds/dkim/rotate.js';
import { advanceRollovers } from '../rollover/advance.js';
import { closeSession, openSession } from '../rollover/session.js';
import { worstExitCode } from '../errors.js';
import type { CommandContext } from './context.js';

export async function dkimCommand(ctx: CommandContext): Promise<number> {
  const [action] = ctx.options.args;
  const id = ctx.options.id;
  if (action !== 'rotate' && action !== 'show') throw new UsageError('usage: danehook dkim <rotate|show> --id ID');
  if (!id) throw new UsageError(`dkim ${action} needs --id ID`);
  const loaded = await loadConfig({ file: ctx.options.config, env: ctx.env });
  for (const w of loaded.warnings) ctx.log.warn(w);
  const s = await openSession(action === 'show' ? { ...ctx, options: { ...ctx.options, dryRun: true } } : ctx, loaded, { lock: action === 'rotate' });
  try {
    const entry = s.dkimEntry(id);
    const es = s.entryState(id);
    if (action === 'show') {
      const pending = es.rollovers.filter((r) => isPending(r.phase));
      const lines = [
        ...(es.live ? [`; in service (${entry.domain})`, ...fromStateRecords(es.live.records).map(formatZoneLine)] : [`; no key in service is known for ${entry.domain}`]),
        ...pending.flatMap((r) => [`; on its way (${r.phase})`, ...fromStateRecords(r.records).map(formatZoneLine)]),
      ];
      ctx.out(lines.join('\n') + '\n');
      return 0;
    }
    if (es.rollovers.some((r) => isPending(r.phase))) throw new UsageError(`"${id}" has a rotation on its way already; "danehook status" shows it`);
    await startRotation(s, id, 'requested with "danehook dkim rotate"');
    const res = await advanceRollovers(s, [id]);
    return worstExitCode(res.errors);
  } finally {
    closeSession(s);
  }
}
