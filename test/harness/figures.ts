// Measured figures a test wants shown at the end of the whole run (npm test prints them after the
// runner's summary): one line each, e.g. "crash-anywhere: rollovers=50 kills=73 violations=0".
import { appendFileSync } from 'node:fs';

export function reportFigures(line: string): void {
  console.log(`# figures: ${line}`);
  const file = process.env.DANEHOOK_FIGURES_FILE;
  if (file) appendFileSync(file, `${line}\n`);
}
