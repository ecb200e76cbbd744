// Lanes of a timeline: bars that overlap in time (nodes that ran in parallel) go on separate
// lanes, each bar on the first lane free at its start. Pure; no drawing here.

export interface Span {
  start: number;
  end: number;
}

/** The spans in lanes, each lane's spans in time order, as few lanes as greedy packing gives
 * (the optimum for intervals: as many lanes as spans running at once at the busiest moment). */
export function intoLanes<T extends Span>(spans: readonly T[]): T[][] {
  const sorted = [...spans].sort((a, b) => a.start - b.start || a.end - b.end);
  const lanes: T[][] = [];
  const ends: number[] = [];
  for (const span of sorted) {
    const free = ends.findIndex((end) => end <= span.start);
    if (free === -1) {
      lanes.push([span]);
      ends.push(span.end);
    } else {
      lanes[free]?.push(span);
      ends[free] = span.end;
    }
  }
  return lanes;
}
