// `danehook pre-deploy`: placeholder until its issue lands; says so instead of pretending to work.
import { UnavailableError } from '../errors.js';
import type { CommandContext } from './context.js';

export async function preDeployCommand(_ctx: CommandContext): Promise<number> {
  throw new UnavailableError('danehook pre-deploy is not implemented yet in this version');
}
