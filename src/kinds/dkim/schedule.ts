// The timer starts DKIM rotations: every due dkim entry (no key yet, or `every` passed since the
// live key went into service) gets a new key and selector published; advancing does the rest.
import { isRotationDue } from '../../core/due.js';
import { toDanehookError, type DanehookError } from '../../errors.js';
import type { Session } from '../../rollover/session.js';
import { startRotation } from './rotate.js';

export async function startDueRotations(s: Session, ids: string[]): Promise<DanehookError[]> {
  const errors: DanehookError[] = [];
  for (const id of ids.filter((x) => s.kindOf(x) === 'dkim')) {
    const es = s.state.dkim[id];
    if (!isRotationDue(es, s.now())) continue;
    try {
      await startRotation(s, id, es?.live ? `its rotation time ${es.live.notAfter} has passed` : 'no key is managed yet');
    } catch (err) {
      const e = toDanehookError(err);
      s.ctx.log.error(e.message);
      errors.push(e);
    }
  }
  return errors;
}
