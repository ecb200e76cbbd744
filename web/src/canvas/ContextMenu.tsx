// A right-click menu at the pointer, kept inside the window; arrow keys move through its items;
// closes on Escape, on a click elsewhere, or after a choice.
import type { LucideIcon } from "lucide-react";
import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type MouseEvent as ReactMouseEvent } from "react";
import { useReturnFocus } from "../a11y/focus";
import { isShortcut, shortcutOf, type ShortcutId } from "./shortcuts";

export interface MenuItem {
  label: string;
  icon?: LucideIcon;
  /** The click that chose it (with its modifier keys: Shift-click on a Run skips its preview). */
  onSelect: (event: ReactMouseEvent) => void;
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
  useReturnFocus(); // Escape or a choice gives the focus back to what opened the menu
  // what had the focus when the menu opened (read before the menu takes it): a choice gives it
  // back before it acts, so a dialog it opens returns the focus there when it closes
  const [opener] = useState(() => (document.activeElement instanceof HTMLElement ? document.activeElement : null));

  useEffect(() => {
    const onDown = (event: MouseEvent) => {
      if (!ref.current?.contains(event.target as Node)) onClose();
    };
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (isShortcut(event, "cancel")) onClose();
    };
    window.addEventListener("mousedown", onDown);
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("mousedown", onDown);
      window.removeEventListener("keydown", onKey);
    };
  }, [onClose]);

  // Drawn at the pointer first, then moved so that all of it is inside the window (a menu
  // opened near the bottom opens upwards); taller than the window, it scrolls.
  const [place, setPlace] = useState({ left: menu.x, top: menu.y });
  useLayoutEffect(() => {
    const box = ref.current?.getBoundingClientRect();
    if (!box) return;
    const margin = 8;
    const left = Math.max(margin, Math.min(menu.x, window.innerWidth - box.width - margin));
    const top = Math.max(margin, Math.min(menu.y, window.innerHeight - box.height - margin));
    setPlace({ left, top });
    ref.current?.querySelector<HTMLButtonElement>("[role=menuitem]:not(:disabled)")?.focus();
  }, [menu]);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const items = [...(ref.current?.querySelectorAll<HTMLButtonElement>("[role=menuitem]:not(:disabled)") ?? [])];
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    const next: Partial<Record<ShortcutId, number>> = {
      menuNext: (at + 1) % items.length,
      menuPrevious: (at - 1 + items.length) % items.length,
      menuFirst: 0,
      menuLast: items.length - 1,
    };
    const shortcut = shortcutOf(event, "menu");
    const index = shortcut && next[shortcut];
    if (index === undefined || items.length === 0) return;
    event.preventDefault();
    items[index]?.focus();
  };

  return (
    <div
      ref={ref}
      className="context-menu"
      role="menu"
      aria-label={menu.title ?? "actions"}
      data-testid="context-menu"
      style={place}
      onKeyDown={onKeyDown}
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
            onClick={(event) => {
              if (opener?.isConnected && opener !== document.body) opener.focus({ preventScroll: true });
              onClose();
              entry.onSelect(event);
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
