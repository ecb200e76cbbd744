"""The kept node checks read by many threads at once (the web app's requests and runs) while
another thread keeps and saves them: every read gives the node's own settings."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from nodepipe.workspace.check_cache import CheckCache
from nodepipe.workspace.file_digests import RACY_WINDOW_NS
from nodepipe.workspace.fingerprint import fingerprint_and_scope
from nodepipe.workspace.node_config import NodeConfig
from nodepipe.workspace.node_folder import NodeFolder

NODES = ("n1", "n2", "n3", "n4")


def keep(cache: CheckCache, nodes: Path, node_id: str, config: NodeConfig) -> None:
    folder = NodeFolder.at(nodes / node_id)
    fingerprint, tree = fingerprint_and_scope(folder, {}, "main.py", None)
    assert tree is not None
    cache.put(node_id, folder, tree, (config, fingerprint), time.time_ns())


def test_a_save_renumbering_the_settings_never_gives_a_read_another_nodes(tmp_path: Path) -> None:
    """``save`` renumbers the table of distinct settings the entries point into; a read
    racing it must not decode its entry's old number in the new table."""
    nodes = tmp_path / "nodes"
    for node_id in NODES:
        (nodes / node_id / "code").mkdir(parents=True)
        (nodes / node_id / "code" / "main.py").write_text(f"# {node_id}\n")
    time.sleep(RACY_WINDOW_NS / 1e9 + 0.3)  # settled: checks may be kept
    settings = {node_id: NodeConfig(shared_env=f"env-of-{node_id}") for node_id in NODES}
    file = tmp_path / "checks.json"
    first = CheckCache(file, tmp_path, nodes)
    for node_id in NODES:
        keep(first, nodes, node_id, settings[node_id])
    first.save()
    cache = CheckCache(file, tmp_path, nodes)  # a later process: entries hold numbers
    wrong: list[str | None] = []
    reads = 0
    stop = threading.Event()

    def read() -> None:
        nonlocal reads
        while not stop.is_set():
            found = cache.get("n3", {})
            reads += 1
            if found is not None and found[0] != settings["n3"]:
                wrong.append(found[0].shared_env)

    def keep_and_save() -> None:
        turn = 0
        while not stop.is_set():
            keep(cache, nodes, "n1", settings["n2" if turn % 2 else "n1"])
            cache.save()
            turn += 1

    threads = [threading.Thread(target=read), threading.Thread(target=keep_and_save)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join()
    assert reads > 1000
    assert wrong == []
