// The time now for what grows while a run goes on (a running bar, a running run's duration).
import { useEffect, useState } from "react";

/** The time now, ticking each second while ``ticking``: a redraw, not a request. */
export function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [ticking]);
  return now;
}
