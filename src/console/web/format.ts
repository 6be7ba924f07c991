/** How the page writes numbers, sizes, times and record bytes. */
import type { BytesView } from '../api_types.js';

export function bytesText(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit] ?? 'B'}`;
}

export const numberText = (value: number | null | undefined): string =>
  (value === null || value === undefined ? '-' : value.toLocaleString('en-US'));

export const timeText = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');

export type BytesFormat = 'text' | 'json' | 'hex';

/** Record bytes as the chosen format; text and JSON fall back to hex for bytes that are not UTF-8. */
export function bytesViewText(view: BytesView | null, format: BytesFormat): string {
  if (view === null) return '(null)';
  if (format === 'hex' || view.text === null) return (view.hex.match(/.{1,2}/g) ?? []).join(' ');
  if (format === 'json' && view.json) return JSON.stringify(JSON.parse(view.text) as unknown, null, 2);
  return view.text;
}
