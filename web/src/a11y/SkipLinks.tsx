// Skip links: the first two stops of Tab, shown only when focused. On a large pipeline every
// card is a Tab stop before the toolbar; these jump straight to the toolbar or the canvas.
import { focusables } from "./focus";

function focusToolbar(): void {
  const toolbar = document.querySelector<HTMLElement>("[role=toolbar]");
  if (toolbar) focusables(toolbar)[0]?.focus();
}

/** The selected node, else the first node drawn, else the canvas's pane. */
function focusCanvas(): void {
  const node =
    document.querySelector<HTMLElement>(".react-flow__node.selected") ??
    document.querySelector<HTMLElement>(".react-flow__node");
  if (node) node.focus();
  else document.querySelector<HTMLElement>("[data-testid=canvas] .react-flow")?.focus();
}

export function SkipLinks() {
  return (
    <>
      <button type="button" className="skip-link" onClick={focusToolbar}>
        Skip to toolbar
      </button>
      <button type="button" className="skip-link" onClick={focusCanvas}>
        Skip to canvas
      </button>
    </>
  );
}
