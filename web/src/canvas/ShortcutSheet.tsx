// The keyboard shortcut sheet (`?`): every shortcut and gesture of the one table in shortcuts.ts,
// in a section for each place it works in.
import { X } from "lucide-react";
import { useEffect, useRef } from "react";
import { trapTab, useReturnFocus } from "../a11y/focus";
import { openOverlay, useOverlay } from "./overlays";
import { PLACES, SHORTCUTS, isShortcut, keyLabel, type Place } from "./shortcuts";

export function ShortcutSheet() {
  const open = useOverlay((s) => s.open === "shortcuts");
  return open ? <Sheet /> : null;
}

function Sheet() {
  const closeButton = useRef<HTMLButtonElement>(null);
  const close = () => openOverlay(null);
  useReturnFocus();
  useEffect(() => closeButton.current?.focus(), []);
  return (
    <div className="modal-backdrop" onMouseDown={close}>
      <div
        className="modal shortcut-sheet"
        role="dialog"
        aria-label="Keyboard shortcuts"
        data-testid="shortcut-sheet"
        onMouseDown={(event) => event.stopPropagation()}
        aria-modal="true"
        onKeyDown={(event) => {
          if (isShortcut(event, "cancel") || isShortcut(event, "help")) close();
          else trapTab(event);
        }}
      >
        <div className="sheet-head">
          <h2>Keyboard shortcuts</h2>
          <button ref={closeButton} className="icon-button" onClick={close} aria-label="Close">
            <X size={15} />
          </button>
        </div>
        {(Object.keys(PLACES) as Place[]).map((place) => (
          <section key={place} aria-label={PLACES[place]} data-testid="shortcut-place" data-place={place}>
            <h3>{PLACES[place]}</h3>
            <table>
              <tbody>
                {SHORTCUTS.filter((shortcut) => shortcut.where === place).map((shortcut) => (
                  <tr key={shortcut.id} data-testid="shortcut-row" data-shortcut={shortcut.id}>
                    <td className="sheet-keys">
                      {shortcut.keys.map((combo, index) => (
                        <span key={index}>
                          {index > 0 && <span className="muted"> or </span>}
                          <kbd>{keyLabel(combo)}</kbd>
                        </span>
                      ))}
                    </td>
                    <td>{shortcut.description}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ))}
      </div>
    </div>
  );
}
