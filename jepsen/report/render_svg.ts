/**
 * Renders a Vega-Lite spec to SVG text in Node: Vega's headless SVG renderer needs no canvas or
 * browser. Vega is loaded on the first render, not with the module: it takes about 0.4 s of CPU to
 * load, and every `tributary` process (brokers included) reaches this module through the bench
 * command, while only a sweep or a harness report draws.
 */
import type { TopLevelSpec } from 'vega-lite';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
