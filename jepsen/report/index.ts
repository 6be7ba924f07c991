/** The report of a Jepsen run: plots and one HTML page written into the run's folder. */
export { writeReport } from './write_report.js';
export { parseRunMeta } from './run_meta.js';
export type { RunMeta } from './run_meta.js';
