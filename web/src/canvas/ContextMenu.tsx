// A right-click menu at the pointer; closes on Escape, on a click elsewhere, or after a choice.
import type { LucideIcon } from "lucide-react";
import { useEffect, useRef } from "react";

export interface MenuItem {
  label: string;
  icon?: LucideIcon;
  onSelect: () => void;
  danger?: boolean;
  disabled?: boolean;
  hint?: string;
}

export type MenuEntry = MenuItem | "separator";

export interface MenuState {
  x: number;
  y: number;
  title?: string;
  entries: MenuEntry[];
}

export function ContextMenu({ menu, onClose }: { menu: MenuState; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const onDown = (event: MouseEvent) => {
      if (!ref.current?.contains(event.target as Node)) onClose();
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") onClose();
    };
    window.addEventListener("mousedown", onDown);
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("mousedown", onDown);
      window.removeEventListener("keydown", onKey);
    };
  }, [onClose]);

  const top = Math.min(menu.y, window.innerHeight - 24 * menu.entries.length - 40);
  return (
    <div
      ref={ref}
      className="context-menu"
      role="menu"
      data-testid="context-menu"
      style={{ left: Math.min(menu.x, window.innerWidth - 240), top: Math.max(8, top) }}
      onContextMenu={(event) => event.preventDefault()}
    >
      {menu.title && <div className="menu-title">{menu.title}</div>}
      {menu.entries.map((entry, index) =>
        entry === "separator" ? (
          <div key={`sep-${index}`} className="menu-separator" />
        ) : (
          <button
            key={entry.label}
            role="menuitem"
            className={entry.danger ? "menu-item danger" : "menu-item"}
            disabled={entry.disabled}
            onClick={() => {
              onClose();
              entry.onSelect();
            }}
          >
            {entry.icon ? <entry.icon size={14} /> : <span className="menu-icon-space" />}
            <span>{entry.label}</span>
            {entry.hint && <kbd>{entry.hint}</kbd>}
          </button>
        ),
      )}
    </div>
  );
}
