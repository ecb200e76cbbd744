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


Member = tuple[str, str, bytes | str]
"""One entry of a crafted package: its path, ``file`` or ``symlink``, and its content or
link target."""


def crafted_package(channel: Path, name: str, members: list[Member], version: str = "1.0") -> Path:
    """Write ``name-version-0.tar.bz2`` into ``channel/noarch`` by hand, holding exactly
    ``members`` (in that order) and listing them in ``info/paths.json``: what a hostile or
    broken channel serves, which no conda build tool would make. Index the channel after."""
    import hashlib
    import io
    import json
    import tarfile

    index = {
        "name": name,
        "version": version,
        "build": "0",
        "build_number": 0,
        "depends": [],
        "noarch": "generic",
        "subdir": "noarch",
    }
    paths = [
        {
            "_path": path,
            "path_type": "hardlink" if kind == "file" else "softlink",
            "sha256": hashlib.sha256(data if isinstance(data, bytes) else b"").hexdigest(),
            "size_in_bytes": len(data) if isinstance(data, bytes) else 0,
        }
        for path, kind, data in members
    ]
    out = channel / "noarch" / f"{name}-{version}-0.tar.bz2"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:bz2") as tar:

        def add(path: str, data: bytes | str, kind: str = "file") -> None:
            info = tarfile.TarInfo(path)
            if isinstance(data, str):
                info.type, info.linkname = tarfile.SYMTYPE, data
                tar.addfile(info)
                return
            info.size, info.mode = len(data), 0o755 if kind == "file" else 0o644
            tar.addfile(info, io.BytesIO(data))

        add("info/index.json", json.dumps(index).encode(), "meta")
        add("info/paths.json", json.dumps({"paths": paths, "paths_version": 1}).encode(), "meta")
        add("info/files", "".join(f"{path}\n" for path, _, _ in members).encode(), "meta")
        for path, _, data in members:
            add(path, data)
    return out


def index_channel(channel: Path) -> None:
    """Write the channel's ``repodata.json`` afresh from the packages in it (an index only
    adds packages it does not list yet: a replaced archive keeps its old sha256 otherwise)."""
    import rattler

    from nodepipe.envs.conda import run_to_completion

    for index in channel.glob("*/repodata*.json*"):
        index.unlink()
    run_to_completion(rattler.index.index_fs(channel))
