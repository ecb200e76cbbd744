"""Make docs/screenshots/run-timeline.png: a run's timeline in the History view at 1440x900.

Run with ``PYTHONPATH=tests python -m tests.browser.shoot_run_timeline`` (needs the built web
app and /usr/bin/chromium). It builds a small fan-out/fan-in pipeline of real nodes (sleeps of a few
seconds, one that fails), runs it three at a time, opens ``#pipeline=…&view=runs`` and takes
the screenshot. Not a test: it asserts nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright
from tests.api.live import server_process
from tests.bench.bench_api import CHROMIUM_ARGS

import nodepipe
from nodepipe.services.runs.service import RunRequest

SHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "run-timeline.png"

NODES = {  # tag -> (seconds asleep, parents); "report" fails
    "fetch": (1.0, ()),
    "clean_north": (2.5, ("fetch",)),
    "clean_south": (1.5, ("fetch",)),
    "clean_west": (3.0, ("fetch",)),
    "merge": (1.0, ("clean_north", "clean_south", "clean_west")),
    "plot": (1.5, ("merge",)),
    "stats": (2.0, ("merge",)),
    "report": (0.5, ("plot", "stats")),
}


def build(root: Path) -> str:
    """The workspace, its pipeline run twice (the second run re-runs the failed node, fixed):
    returns the first run's id."""
    ws = nodepipe.init(root)
    ws.projects.new("climate")
    ws.pipelines.new("forecast", project="climate")
    for tag, (seconds, parents) in NODES.items():
        ws.nodes.new("forecast", tag)
        fails = "raise ValueError('no station has data for 2025')\n" if tag == "report" else ""
        code = f"import time\ntime.sleep({seconds})\n{fails}"
        (ws.nodes.path(tag) / "code" / "main.py").write_text(code)
        for parent in parents:
            ws.edges.connect(parent, tag, "forecast")
    first = ws.runs.run(RunRequest("forecast", jobs=3)).run_id
    (ws.nodes.path("report") / "code" / "main.py").write_text("print('report written')\n")
    ws.runs.run(RunRequest("forecast", jobs=3))
    ws.close()
    assert first is not None
    return first


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "lab"
        run_id = build(root)
        with (
            server_process(root, root.parent / "server.log") as live,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{live.link}#pipeline=forecast&view=runs&run={run_id}")
            page.get_by_test_id("timeline-bar").nth(len(NODES) - 1).wait_for()
            page.get_by_test_id("timeline-bar").first.hover()
            page.wait_for_timeout(500)
            SHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SHOT)
            browser.close()
    print(SHOT)


if __name__ == "__main__":
    main()
