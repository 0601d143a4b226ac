// `danehook deploy`: placeholder until its issue lands; says so instead of pretending to work.
import { UnavailableError } from '../errors.js';
import type { CommandContext } from './context.js';

export async function deployCommand(_ctx: CommandContext): Promise<number> {
  throw new UnavailableError('danehook deploy is not implemented yet in this version');
}
