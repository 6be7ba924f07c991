/**
 * The harness's side of the clock nemesis (TEST ONLY): how a broker is started with the skew
 * preload, and the control file through which its wall-clock offset is set while it runs. Writes
 * are atomic (a temporary file renamed over the old one), so the preload never reads half a number.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { assert } from '../../raft/core/assert.js';

/** The environment variable naming a broker's control file (read by skew_preload.ts). */
export const CLOCK_FILE_ENVIRONMENT = 'TRIBUTARY_TEST_CLOCK_FILE';

const preloadPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'skew_preload.js');

/** The node arguments that load the preload (before the script). */
export function skewPreloadArguments(): string[] {
  return ['--import', pathToFileURL(preloadPath).href];
}

/** A broker's control file in the run's clock folder. */
export function clockFile(folder: string, brokerId: number): string {
  return path.join(folder, `broker-${brokerId}.offset-ms`);
}

/** Sets the wall-clock offset the preload applies; 0 puts the broker back on real time. */
export function writeClockOffset(file: string, offsetMs: number): void {
  assert(Number.isSafeInteger(offsetMs), () => `a clock offset is whole milliseconds, got ${offsetMs}`);
  const temporary = `${file}.tmp`;
  fs.writeFileSync(temporary, `${offsetMs}\n`);
  fs.renameSync(temporary, file);
}
