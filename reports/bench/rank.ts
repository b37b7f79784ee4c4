// Ranking the points of a document: the strategies per (op, layout, pages, depth, working set, size), best
// I/O rate first (the end-of-run table and the report order them so).

/** What ranking needs of a point. */
export interface Rankable {
  strategy: string;
  op: string;
  size: number;
  pages: string;
  depth: number;
  iops: number;
  /** Absent: contiguous (documents from before the page layout). */
  layout?: string;
  /** The working set (buffers, or pool pages). */
  buffers: number;
}

/** A ranking group: every field of its points but the strategy and the rate. */
export type RankKey = Omit<Rankable, "strategy" | "iops" | "layout"> & { layout: string };

/**
 * Groups points by (op, layout, pages, depth, working set, size) and orders each group by I/O rate, best
 * first; groups come contiguous layout first, then by op, pages, depth, working set and size.
 */
export function rankPerSize<T extends Rankable>(points: T[]): { key: RankKey; ranked: T[] }[] {
  const groups = new Map<string, { key: RankKey; ranked: T[] }>();
  for (const p of points) {
    const layout = p.layout ?? "contiguous";
    const id = `${p.op}|${layout}|${p.pages}|${p.depth}|${p.buffers}|${p.size}`;
    let g = groups.get(id);
    if (!g) {
      const key = { op: p.op, layout, pages: p.pages, depth: p.depth, buffers: p.buffers, size: p.size };
      groups.set(id, g = { key, ranked: [] });
    }
    g.ranked.push(p);
  }
  const out = [...groups.values()];
  for (const g of out) g.ranked.sort((a, b) => b.iops - a.iops || a.strategy.localeCompare(b.strategy));
  const opOrder = (op: string) => (op === "write" ? 0 : 1);
  out.sort((a, b) =>
    a.key.layout.localeCompare(b.key.layout) || opOrder(a.key.op) - opOrder(b.key.op) ||
    a.key.pages.localeCompare(b.key.pages) ||
    a.key.depth - b.key.depth ||
    a.key.buffers - b.key.buffers ||
    a.key.size - b.key.size
  );
  return out;
}
