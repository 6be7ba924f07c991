/**
 * The page's side of the console API: typed GETs and POSTs, and a hook that polls a URL on an
 * interval (the views redraw as answers come). An error answer becomes an Error with its code.
 */
import { useEffect, useState } from 'preact/hooks';

import type { ApiError } from '../api_types.js';

export class ApiCallError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

async function answerOf<T>(response: Response): Promise<T> {
  const body = await response.json() as unknown;
  if (!response.ok) {
    const { error } = body as ApiError;
    throw new ApiCallError(error.code, error.message);
  }
  return body as T;
}

export async function getJson<T>(url: string): Promise<T> {
  return answerOf<T>(await fetch(url, { headers: { accept: 'application/json' } }));
}

export async function postJson<T>(url: string, body: unknown): Promise<T> {
  return answerOf<T>(await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body) }));
}

export interface Polled<T> {
  readonly data: T | null;
  readonly error: string | null;
  /** When the last good answer came. */
  readonly atMs: number | null;
}

/** GETs `url` now and every intervalMs while mounted (one request at a time); null url: nothing. */
export function usePoll<T>(url: string | null, intervalMs: number): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ data: null, error: null, atMs: null });
  useEffect(() => {
    setState({ data: null, error: null, atMs: null });
    if (url === null) return undefined;
    let cancelled = false;
    let timer: number | undefined;
    const round = async (): Promise<void> => {
      try {
        const data = await getJson<T>(url);
        if (!cancelled) setState({ data, error: null, atMs: Date.now() });
      } catch (error) {
        if (!cancelled) setState((old) => ({ ...old, error: error instanceof Error ? error.message : String(error) }));
      }
      if (!cancelled) timer = window.setTimeout(() => { void round(); }, intervalMs);
    };
    void round();
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [url, intervalMs]);
  return state;
}
