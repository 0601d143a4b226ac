// `danehook status`: placeholder until its issue lands; says so instead of pretending to work.
import { UnavailableError } from '../errors.js';
import type { CommandContext } from './context.js';

export async function statusCommand(_ctx: CommandContext): Promise<number> {
  throw new UnavailableError('danehook status is not implemented yet in this version');
}
