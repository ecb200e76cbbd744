"""A local conda channel built by the test suite, so conda tests never need the network.

Each package is a tiny ``noarch: generic`` conda package made with py-rattler-build
(``assemble_package``) that ships one shell tool in ``bin/``, printing its name and version;
the channel folder is indexed with ``rattler.index`` and solved from as a ``file://`` channel.
"""

from __future__ import annotations

import datetime
from pathlib import Path

TOOLS = (("hello-tool", "1.0"), ("hello-tool", "2.0"), ("other-tool", "0.1"))
"""Two versions of one tool, and another tool."""
_BUILT = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


def tool_package(channel: Path, name: str, version: str, stage: Path) -> Path:
    """Build ``name-version-0.conda`` into ``channel/noarch``: a ``bin/name`` script that
    prints ``name version``."""
    from rattler_build import assemble_package

    script = stage / "bin" / name
    script.parent.mkdir(parents=True)
    script.write_text(f"#!/bin/sh\necho {name} {version}\n")
    script.chmod(0o755)
    output = assemble_package(
        name=name,
        version=version,
        target_platform="noarch",
        build_string="0",
        output_dir=str(channel / "noarch"),
        files_dir=str(stage),
        noarch="generic",
        timestamp=_BUILT,
        compression_level=1,
    )
    return Path(output.path)


def conda_channel(folder: Path, tools: tuple[tuple[str, str], ...] = TOOLS) -> Path:
    """An indexed local channel at ``folder/channel`` holding ``tools``."""
    import rattler

    from nodepipe.envs.conda import run_to_completion

    channel = folder / "channel"
    (channel / "noarch").mkdir(parents=True)
    for index, (name, version) in enumerate(tools):
        tool_package(channel, name, version, folder / f"stage-{index}")
    run_to_completion(rattler.index.index_fs(channel))  # also beside Playwright's event loop
    return channel
