// What one step of a rollover returns (the rollover as it is now, and the error that stopped it),
// and where an activation keeps its backup: shared by every credential kind.
import { join } from 'node:path';
import type { DanehookError } from '../errors.js';
import type { Rollover } from '../core/state.js';
import type { Session } from './session.js';

export interface StepResult {
  rollover: Rollover;
  error?: DanehookError;
}

export function backupDir(s: Session, id: string, r: Rollover): string {
  return join(s.loaded.config.stateDir, 'backup', id, r.id);
}
