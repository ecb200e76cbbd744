// The keyboard shortcut sheet (`?`): every shortcut of the one table in shortcuts.ts.
import { X } from "lucide-react";
import { useEffect, useRef } from "react";
import { trapTab, useReturnFocus } from "../a11y/focus";
import { openOverlay, useOverlay } from "./overlays";
import { SHORTCUTS, keyLabel } from "./shortcuts";

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
          if (event.key === "Escape" || event.key === "?") close();
          else trapTab(event);
        }}
      >
        <div className="sheet-head">
          <h2>Keyboard shortcuts</h2>
          <button ref={closeButton} className="icon-button" onClick={close} aria-label="Close">
            <X size={15} />
          </button>
        </div>
        <table>
          <tbody>
            {SHORTCUTS.map((shortcut) => (
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
      </div>
    </div>
  );
}
