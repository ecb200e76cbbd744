"""Tiny wheels built by the test suite, so environment tests never need the network."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def build_wheel(folder: Path, name: str, version: str, source: str) -> Path:
    """Write ``name-version-py3-none-any.whl`` holding one module ``name`` with ``source``."""
    dist = f"{name}-{version}"
    files = {
        f"{name}/__init__.py": source,
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: nodepipe-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
    }
    path = folder / f"{dist}-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            data = text.encode()
            archive.writestr(member, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            records.append(f"{member},sha256={digest.decode()},{len(data)}")
        records.append(f"{dist}.dist-info/RECORD,,")
        archive.writestr(f"{dist}.dist-info/RECORD", "\n".join(records) + "\n")
    return path


def toy_index(folder: Path) -> Path:
    """Two incompatible versions of one toy package: toypkg 1.0 and 2.0 (which adds new_api)."""
    folder.mkdir(parents=True, exist_ok=True)
    build_wheel(folder, "toypkg", "1.0", "VERSION = '1.0'\n")
    build_wheel(folder, "toypkg", "2.0", "VERSION = '2.0'\n\n\ndef new_api():\n    return 2\n")
    build_wheel(folder, "otherpkg", "0.1", "VERSION = '0.1'\n")
    return folder


IN_TREE_BACKEND = '''\
"""A minimal PEP 517/660 build backend living in the project itself (no download needed)."""
import base64, hashlib, os, zipfile

NAME, VERSION = "{name}", "{version}"
DIST = NAME + "-" + VERSION


def _wheel(directory, files):
    path = os.path.join(directory, DIST + "-py3-none-any.whl")
    records = []
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            records.append(member + ",sha256=" + digest.decode() + "," + str(len(data)))
        records.append(DIST + ".dist-info/RECORD,,")
        archive.writestr(DIST + ".dist-info/RECORD", "\\n".join(records) + "\\n")
    return os.path.basename(path)


def _meta():
    return {{
        DIST + ".dist-info/METADATA":
            ("Metadata-Version: 2.1\\nName: " + NAME + "\\nVersion: " + VERSION + "\\n").encode(),
        DIST + ".dist-info/WHEEL":
            b"Wheel-Version: 1.0\\nGenerator: in-tree\\nRoot-Is-Purelib: true\\n"
            b"Tag: py3-none-any\\n",
    }}


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = _meta()
    for root, _, names in os.walk(NAME):
        for name in names:
            if name.endswith(".py"):
                full = os.path.join(root, name)
                files[full] = open(full, "rb").read()
    return _wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    files = _meta()
    files["_" + NAME + "_editable.pth"] = (os.path.abspath(".") + "\\n").encode()
    return _wheel(wheel_directory, files)


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_wheel
'''


def local_project(folder: Path, name: str, version: str, source: str) -> Path:
    """A buildable Python project at ``folder`` (its backend is in-tree: works offline)."""
    (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / name / "__init__.py").write_text(source)
    (folder / "np_backend.py").write_text(IN_TREE_BACKEND.format(name=name, version=version))
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "{version}"\n\n'
        '[build-system]\nrequires = []\nbuild-backend = "np_backend"\nbackend-path = ["."]\n'
    )
    return folder
