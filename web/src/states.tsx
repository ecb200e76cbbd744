// How each node state and flag looks: one colour and one icon each, used everywhere.
import {
  Ban,
  CircleCheck,
  CircleDashed,
  CircleX,
  Hourglass,
  Link2,
  LoaderCircle,
  Lock,
  TriangleAlert,
  type LucideIcon,
} from "lucide-react";
import type { NodeState } from "./api/types";

export type Look = NodeState | "locked" | "referenced";

interface LookSpec {
  label: string;
  icon: LucideIcon;
  spin?: boolean;
}

export const LOOKS: Record<Look, LookSpec> = {
  ready: { label: "ready", icon: CircleDashed },
  queued: { label: "queued", icon: Hourglass },
  running: { label: "running", icon: LoaderCircle, spin: true },
  completed: { label: "completed", icon: CircleCheck },
  failed: { label: "failed", icon: CircleX },
  stale: { label: "stale", icon: TriangleAlert },
  cancelled: { label: "cancelled", icon: Ban },
  locked: { label: "locked", icon: Lock },
  referenced: { label: "referenced", icon: Link2 },
};

export const LEGEND: Look[] = [
  "ready",
  "queued",
  "running",
  "completed",
  "failed",
  "stale",
  "cancelled",
  "locked",
  "referenced",
];

/** The CSS colour of a state or flag (defined per theme in styles.css). */
export function lookColor(look: Look): string {
  return `var(--look-${look})`;
}

export function LookIcon({ look, size = 16 }: { look: Look; size?: number }) {
  const spec = LOOKS[look];
  const Icon = spec.icon;
  return (
    <Icon
      size={size}
      color={lookColor(look)}
      className={spec.spin ? "spin" : undefined}
      aria-label={spec.label}
      data-look={look}
    />
  );
}

export function StateBadge({ look }: { look: Look }) {
  return (
    <span className="state-badge" style={{ color: lookColor(look), borderColor: lookColor(look) }}>
      <LookIcon look={look} size={13} />
      {LOOKS[look].label}
    </span>
  );
}

export function Legend() {
  return (
    <div className="legend" aria-label="legend">
      {LEGEND.map((look) => (
        <span key={look} className="legend-item">
          <LookIcon look={look} size={12} />
          {LOOKS[look].label}
        </span>
      ))}
    </div>
  );
}
