/** Evenly spaced, deterministic sampling, so big histories plot in seconds and re-render identically. */

export function sampleEvenly<T>(items: readonly T[], limit: number): T[] {
  if (items.length <= limit) return [...items];
  const stride = items.length / limit;
  return Array.from({ length: limit }, (_, position) => items[Math.floor(position * stride)] as T);
}
