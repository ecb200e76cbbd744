"""Benchmark: a 500-node pipeline through the web API, and in the browser.

Run with ``python -m tests.bench.bench_api`` (needs the built web app and /usr/bin/chromium).

1. API: ``GET /api/pipelines/{p}`` over HTTP on a real server, median of many requests, with
   the number of store queries it made, for 50 and 500 nodes, against ``GET /api/health``
   (the floor: the same server, stack and client doing nothing) measured in the same run.
2. Browser: time from opening the page to the 500 nodes drawn, and frame times while
   panning the whole graph (all nodes on screen, drawn as plain blocks below zoom 0.45),
   then at zoom 1 (readable cards, only those on screen drawn), against panning an empty
   pipeline. Headless Chromium without a GPU rasterizes in software: a real browser does
   better, so read the ratio to the empty pipeline rather than the absolute figures.

The graph is written straight into the store (rows only, no node folders): the canvas endpoint
reads nothing else, and building 500 real uv environments would only slow the benchmark.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from playwright.sync_api import Page, sync_playwright
from tests.api.live import LiveServer, server_thread

import nodepipe
from nodepipe.domain.ids import new_id
from nodepipe.domain.model import Edge, Membership, Node
from nodepipe.domain.states import NodeState

REQUESTS = 60
LAYER = 20
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STATES = [NodeState.COMPLETED, NodeState.STALE, NodeState.READY, NodeState.FAILED]


def build(ws: nodepipe.Workspace, tag: str, count: int) -> str:
    """A pipeline of ``count`` nodes in layers of 20, each reading one or two of the layer above."""
    pipeline = ws.pipelines.new(tag)
    ids = [new_id() for _ in range(count)]
    now = datetime.now(UTC)
    with ws.context.store.write() as session:
        for i, node_id in enumerate(ids):
            state = STATES[i % len(STATES)]
            session.insert_node(Node(node_id, f"n{i:03}", "", state, "", False, pipeline.id, now))
            x, y = (i // LAYER) * 280.0, (i % LAYER) * 90.0
            session.insert_membership(Membership(pipeline.id, node_id, x, y))
        for i in range(LAYER, count):
            above = (i // LAYER - 1) * LAYER
            parents = {above + i % LAYER, above + (i * 7 + 3) % LAYER}
            for slot, parent in enumerate(sorted(parents), 1):
                session.insert_edge(Edge(ids[parent], ids[i], f"{slot:02}"))
    return pipeline.id


@contextmanager
def counting(ws: nodepipe.Workspace) -> Iterator[list[int]]:
    """Counts the SQL statements the store executes while the block runs."""
    seen = [0]

    def count(*_: Any) -> None:
        seen[0] += 1

    engine = ws.context.store.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def median_ms(action: Callable[[], object], repeat: int = REQUESTS) -> float:
    action()  # warm up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def bench_api(ws: nodepipe.Workspace, live: LiveServer, pipelines: dict[int, str]) -> None:
    with httpx.Client(base_url=live.url, headers=live.headers) as client:
        floor = median_ms(lambda: client.get("/api/health").raise_for_status())
        print(f"{'API measure':38} {'median':>9} {'ratio':>7} {'queries':>8}")
        print(f"{'GET /api/health (floor)':38} {floor:7.2f}ms {1:6.1f}x {0:8}")
        for count, pipeline_id in pipelines.items():
            path = f"/api/pipelines/{pipeline_id}"
            with counting(ws) as queries:
                size = len(client.get(path).content)
            took = median_ms(lambda path=path: client.get(path).raise_for_status())
            name = f"GET pipeline, {count} nodes ({size // 1024} kB)"
            print(f"{name:38} {took:7.2f}ms {took / floor:6.1f}x {queries[0]:8}")


PAN_SCRIPT = """async ([steps]) => {
  const times = [];
  let last = performance.now();
  let running = true;
  const tick = (now) => {
    times.push(now - last);
    last = now;
    if (running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  window.__stopFrames = () => { running = false; return times; };
}"""


def pan_frames(page: Page) -> list[float]:
    """Drag the canvas around for ~2 s while recording every frame's duration."""
    box = page.locator(".react-flow__pane").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.6
    page.evaluate(PAN_SCRIPT, [0])
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(120):
        dx = 300 * (1 if (i // 30) % 2 == 0 else -1) * ((i % 30) / 30)
        page.mouse.move(x + dx, y + dx / 3)
        page.wait_for_timeout(16)
    page.mouse.up()
    frames: list[float] = page.evaluate("window.__stopFrames()")
    return frames[2:]


def zoom_to(page: Page, wanted: float) -> None:
    """Wheel-zoom into the middle of the canvas until the zoom reaches ``wanted``."""
    box = page.locator(".react-flow__pane").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    scale = (
        "() => new DOMMatrix("
        "getComputedStyle(document.querySelector('.react-flow__viewport')).transform).a"
    )
    while page.evaluate(scale) < wanted:
        page.mouse.wheel(0, -200)
        page.wait_for_timeout(30)
    page.wait_for_timeout(800)


def describe(frames: list[float]) -> str:
    ordered = sorted(frames)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    fps = 1000 / statistics.mean(frames)
    return (
        f"median {statistics.median(frames):5.1f}ms  p95 {p95:5.1f}ms  "
        f"max {max(frames):6.1f}ms  ~{fps:4.0f} fps"
    )


def bench_browser(live: LiveServer, pipelines: dict[int, str], empty: str) -> None:
    url = live.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(live.link)  # the token link: the tab keeps the token for the rest
        print(f"\n{'browser measure':38} figures")
        for count, pipeline_id in pipelines.items():
            start = time.perf_counter()
            page.goto(f"{url}/#pipeline={pipeline_id}")
            page.wait_for_function(
                "n => document.querySelectorAll('[data-testid=node]').length >= n", arg=count
            )
            shown = (time.perf_counter() - start) * 1000
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(1000)
            print(f"{f'open to {count} nodes drawn':38} {shown:7.0f}ms")
            print(f"{f'pan, {count} nodes on screen':38} {describe(pan_frames(page))}")
            zoom_to(page, 1.0)
            cards = page.locator(".step-tag").count()
            print(f"{f'pan at zoom 1 ({cards} cards drawn)':38} {describe(pan_frames(page))}")
            page.goto("about:blank")
        start = time.perf_counter()
        page.goto(f"{url}/#pipeline={empty}")
        page.wait_for_selector("[data-testid=canvas]")
        floor = (time.perf_counter() - start) * 1000
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1000)
        print(f"{'open an empty pipeline (floor)':38} {floor:7.0f}ms")
        print(f"{'pan, empty pipeline (floor)':38} {describe(pan_frames(page))}")
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nodepipe-bench-api-") as scratch:
        ws = nodepipe.init(Path(scratch) / "lab")
        pipelines = {count: build(ws, f"p{count}", count) for count in (50, 500)}
        empty = ws.pipelines.new("empty").id
        with server_thread(ws) as live:
            bench_api(ws, live, pipelines)
            bench_browser(live, {500: pipelines[500]}, empty)
        ws.close()


if __name__ == "__main__":
    main()
