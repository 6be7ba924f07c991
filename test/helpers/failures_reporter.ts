/**
 * A second reporter for `npm test`: the TAP stream reports a failure where it happens, hundreds
 * of lines before the end, and CI keeps only the end of the output. This one prints nothing until
 * the run is over, then one block naming every failed test (file, suite path, first lines of the
 * error), so the tail of any log says what failed.
 */
import type { TestEvent } from 'node:test/reporters';

interface Failure { readonly file: string; readonly path: string; readonly error: string }

const ERROR_LINES_MAX = 6;

function errorText(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause ?? error;
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return text.split('\n').filter((line) => line.trim() !== '').slice(0, ERROR_LINES_MAX).join('\n#       ');
}

// node --test loads a reporter as its module's default export.
// eslint-disable-next-line no-restricted-exports
export default async function* failuresReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const failures: Failure[] = [];
  /** The names of the suites open at each nesting level, to name a failure by its whole path. */
  const open: string[] = [];
  for await (const event of source) {
    if (event.type === 'test:start') {
      open.length = event.data.nesting;
      open.push(event.data.name);
    } else if (event.type === 'test:fail') {
      const { data } = event;
      // A suite fails with its failed subtest; the subtest already names it.
      const failureType = (data.details.error as { failureType?: string } | undefined)?.failureType;
      if (failureType === 'subtestsFailed') continue;
      open.length = data.nesting;
      failures.push({ file: data.file ?? '(unknown file)', path: [...open, data.name].join(' > '),
        error: errorText(data.details.error) });
    }
  }
  if (failures.length === 0) return;
  yield `\n# ${failures.length} failed:\n`;
  for (const failure of failures) yield `#   ${failure.file}\n#     ${failure.path}\n#       ${failure.error}\n`;
}
