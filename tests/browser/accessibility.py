"""Accessibility checks for browser tests: axe-core run in the page, no network.

``expect_accessible(page, "what is on screen")`` injects axe-core (``web/node_modules/axe-core``,
installed by ``npm ci`` with the web app's dev dependencies) into the page once, runs it on the
whole document (or on ``within``, a CSS selector) and fails with every serious or critical
violation: the rule, what to fix, and the elements that break it. Moderate and minor findings
are not failures. Call it once the view to check is on screen (wait for it first: axe checks
what is there when it runs); animations that end (a toast or a menu fading in) are let finish
first, so a colour caught mid-fade is never taken for the view's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
FAILING = ("serious", "critical")

RUN = """async (within) => {
  // what is on screen at rest: a toast or a menu fading in is checked once it has (a colour
  // mid-fade is no colour the user reads); endless ones (a spinner) are not waited for
  const finite = document.getAnimations().filter(
    (a) => a.playState === "running" && Number.isFinite(a.effect?.getComputedTiming().endTime),
  );
  const settled = Promise.all(finite.map((a) => a.finished.catch(() => undefined)));
  await Promise.race([settled, new Promise((done) => setTimeout(done, 5000))]);
  const result = await window.axe.run(within ? document.querySelector(within) : document, {
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), why: n.failureSummary })),
  }));
}"""


def violations(page: Page, within: str | None = None) -> list[dict[str, Any]]:
    """Every axe-core violation on the page (or inside ``within``), any impact."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci` in web/ (make install does this)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN, within)
    return found


def describe(found: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for violation in found:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            why = " ".join(str(node["why"]).split())
            lines.append(f"    {node['target']}: {why}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    … and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)


def expect_accessible(
    page: Page, view: str, within: str | None = None, *, strict: bool = False
) -> None:
    """Fail when axe-core finds a serious or critical violation in what the page shows (with
    ``strict``, any violation: for a view known to have none, such as a dialog)."""
    found = violations(page, within)
    failing = found if strict else [v for v in found if v["impact"] in FAILING]
    kinds = "accessibility violations" if strict else "serious or critical accessibility violations"
    assert not failing, f"{view}: {kinds}:\n{describe(failing)}"


CONTRAST = """(element) => {
  // the text's colour against the first opaque background behind it, up its ancestors
  const rgb = (css) => (css.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const [R, G, B] = [r, g, b].map((c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  const clear = (node) => rgb(getComputedStyle(node).backgroundColor)[3] === 0;
  let behind = element;
  while (behind && clear(behind)) behind = behind.parentElement;
  const back = luminance(rgb(getComputedStyle(behind ?? document.body).backgroundColor));
  const text = luminance(rgb(getComputedStyle(element).color));
  return (Math.max(back, text) + 0.05) / (Math.min(back, text) + 0.05);
}"""


def expect_readable(target: Locator, view: str, at_least: float = 4.5) -> None:
    """Fail when ``target``'s text has less contrast than ``at_least`` with the background
    behind it: for what axe cannot decide (it calls a node card's colours undetermined, the
    canvas's pane overlapping it), its colours read as axe would."""
    ratio = float(target.evaluate(CONTRAST))
    assert ratio >= at_least, f"{view}: text contrast {ratio:.2f}:1, below {at_least}:1"
