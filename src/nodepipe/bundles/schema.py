"""``pipeline.toml``: read it into a ``BundleDefinition`` and write one back, deterministically.

Reading checks everything that one file can tell: the ``format`` (an unknown major version is
refused), every key (an unknown one is named with its line), names (node keys are tags;
include namespaces also may not hold ``.``), paths (relative, POSIX, inside the bundle), edges
(ends are nodes here or ``NS.key`` of a declared include; slots follow the slot rule), inputs
(each taken on a slot no edge feeds) and cycles among this file's own nodes. It reads on past
a mistake and refuses every one it found together, so a user fixes them in one go. What needs
other files (an include's nodes) is checked when the includes are resolved
(``nodepipe.bundles.resolve``).

Writing is deterministic so that a git diff of two exports shows only what changed: fixed key
order, nodes, edges and includes sorted, LF line ends, no timestamps, a node's default ``path``
left out, parameters as inline values with sorted keys.
"""

from __future__ import annotations

from typing import Any

import tomlkit
from tomlkit.items import InlineTable, Item

from nodepipe.bundles import schema_graph
from nodepipe.bundles.errors import BundleError
from nodepipe.bundles.model import (
    FORMAT_VERSION,
    BundleDefinition,
    IncludeEntry,
    NodeEntry,
    frozen_mapping,
)
from nodepipe.bundles.paths import normal_path, parse_source, path_problem
from nodepipe.bundles.toml_reader import TomlReader
from nodepipe.domain.names import validate_name

TOP_KEYS = ("format", "pipeline", "params", "inputs", "nodes", "edges", "includes")
PIPELINE_KEYS = ("name", "notes", "py-dir")
NODE_KEYS = ("path", "notes", "group", "position")
INCLUDE_KEYS = ("source", "inputs", "params")
LOCAL_URLS = ("file:", "local:")
"""URL schemes naming this machine's files: as absolute as ``/home/me/x`` in a bundle."""


def default_node_path(key: str) -> str:
    """Where a node's folder is when ``pipeline.toml`` does not say: ``nodes/<key>``."""
    return f"nodes/{key}"


def parse_definition(text: str, origin: str) -> BundleDefinition:
    """The definition ``text`` holds; BundleError naming ``origin`` and the line otherwise.

    Every independent mistake of the file is found in one reading and refused together
    (``BundleProblemsError``, one problem a line); malformed TOML and a newer format are
    refused alone, since nothing after them can be read."""
    reader = TomlReader(text, origin)
    document = reader.document
    _check_format(reader, document)
    reader.note_unknown_keys(document, TOP_KEYS, ())
    pipeline = reader.attempt(None, reader.table, document.get("pipeline", {}), (), "pipeline")
    name = "" if pipeline is None else reader.attempt("", _pipeline_name, reader, pipeline)
    pipeline = pipeline or {}  # refused: its name is not asked for again
    reader.note_unknown_keys(pipeline, PIPELINE_KEYS, ("pipeline",))
    py_dir = pipeline.get("py-dir")
    if py_dir is not None:
        py_dir = reader.attempt(None, _bundle_path, reader, py_dir, ("pipeline",), "py-dir")
    notes = reader.attempt("", reader.string, pipeline.get("notes", ""), ("pipeline",), "notes")
    params = reader.attempt({}, _params, reader, document)
    written_nodes = reader.attempt({}, reader.table, document.get("nodes", {}), (), "nodes")
    written_includes = reader.attempt(
        {}, reader.table, document.get("includes", {}), (), "includes"
    )
    nodes = _nodes(reader, written_nodes)
    includes = _includes(reader, written_includes)
    # Every key written, even a refused one: an edge naming it is not refused a second time.
    keys, namespaces = set(written_nodes), set(written_includes)
    schema_graph.check_node_keys(reader, keys, namespaces)
    inputs = reader.attempt({}, schema_graph.read_inputs, reader, document.get("inputs", {}), keys)
    edges = schema_graph.read_edges(reader, document.get("edges", []), keys, namespaces)
    schema_graph.check_inputs_free(reader, inputs, edges)
    schema_graph.check_include_inputs(reader, includes, keys, namespaces)
    reader.attempt(None, schema_graph.check_acyclic, reader, edges, keys)
    reader.finish()
    return BundleDefinition(
        name=name,
        notes=notes,
        py_dir=py_dir,
        params=frozen_mapping(params),
        inputs=frozen_mapping(inputs),
        nodes=nodes,
        edges=edges,
        includes=includes,
    )


def readable_nodes(text: str, origin: str) -> BundleDefinition | None:
    """A definition of only the nodes of ``text`` that read without a mistake (nothing else
    of the file: no edges, includes, inputs or params), so that the problems of those nodes
    are named while the file has mistakes of its own (``bundle check``); None when no node
    reads (or the file is malformed TOML, or of a newer format)."""
    try:
        reader = TomlReader(text, origin)
        _check_format(reader, reader.document)
    except BundleError:
        return None
    written = reader.attempt({}, reader.table, reader.document.get("nodes", {}), (), "nodes")
    nodes = _nodes(reader, written)
    if not nodes:
        return None
    return BundleDefinition(
        name="",
        notes="",
        py_dir=None,
        params=frozen_mapping({}),
        inputs=frozen_mapping({}),
        nodes=nodes,
        edges=(),
        includes=(),
    )


def _check_format(reader: TomlReader, document: dict[str, Any]) -> None:
    """Note a missing or malformed ``format``; refuse a newer one at once (the rest of the
    file is written for a schema this nodepipe does not know)."""
    if "format" not in document:
        message = f"'format = {FORMAT_VERSION}' is missing (the bundle schema version)"
        reader.note(reader.error(message))
        return
    value = document["format"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        message = f"'format' must be a whole number such as {FORMAT_VERSION}"
        reader.note(reader.error(message, (), "format"))
        return
    if value > FORMAT_VERSION:
        raise reader.error(
            f"bundle format {value} is newer than this nodepipe reads (format {FORMAT_VERSION}); "
            "upgrade nodepipe to read this bundle",
            (),
            "format",
        )


def _pipeline_name(reader: TomlReader, pipeline: dict[str, Any]) -> str:
    if "name" not in pipeline:
        raise reader.error("[pipeline] has no 'name'", (), "pipeline")
    name = reader.string(pipeline["name"], ("pipeline",), "name")
    reader.checked(("pipeline",), "name", validate_name, name, "pipeline name")
    return name


def _params(reader: TomlReader, document: dict[str, Any]) -> dict[str, Any]:
    params = reader.table(document.get("params", {}), (), "params")
    reader.plain_values(params, (), "params")
    return params


def _bundle_path(reader: TomlReader, value: Any, address: tuple[str, ...], key: str) -> str:
    text = reader.string(value, address, key)
    problem = path_problem(text)
    if problem:
        raise reader.error(f"{key} {text!r} is not usable: {problem}", address, key)
    return normal_path(text)


def _nodes(reader: TomlReader, table: dict[str, Any]) -> tuple[NodeEntry, ...]:
    """Each node written; one with a problem is noted and left out."""
    found = (reader.attempt(None, _node, reader, key, table[key]) for key in sorted(table))
    return tuple(entry for entry in found if entry is not None)


def _node(reader: TomlReader, key: str, value: Any) -> NodeEntry | None:
    reader.checked(("nodes",), key, validate_name, key, "node tag")
    address = ("nodes", key)
    node = reader.table(value, ("nodes",), key)
    reader.note_unknown_keys(node, NODE_KEYS, address)
    noted = len(reader.errors)
    group = node.get("group")
    if group is not None:
        group = reader.attempt(None, _group, reader, group, address)
    path = reader.attempt(
        "", _bundle_path, reader, node.get("path", default_node_path(key)), address, "path"
    )
    entry = NodeEntry(
        key=key,
        path=path,
        notes=reader.attempt("", reader.string, node.get("notes", ""), address, "notes"),
        group=group,
        position=reader.attempt(None, _position, reader, node.get("position"), address),
    )
    return entry if len(reader.errors) == noted else None


def _group(reader: TomlReader, value: Any, address: tuple[str, ...]) -> str:
    group = reader.string(value, address, "group")
    reader.checked(address, "group", validate_name, group, "group name")
    return group


def _position(
    reader: TomlReader, value: Any, address: tuple[str, ...]
) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise reader.error("'position' must be two numbers, [x, y]", address, "position")
    return reader.number(value[0], address, "position"), reader.number(
        value[1], address, "position"
    )


def _includes(reader: TomlReader, table: dict[str, Any]) -> tuple[IncludeEntry, ...]:
    """Each include written; one with a problem is noted and left out."""
    found = (reader.attempt(None, _include, reader, ns, table[ns]) for ns in sorted(table))
    return tuple(entry for entry in found if entry is not None)


def _include(reader: TomlReader, namespace: str, value: Any) -> IncludeEntry | None:
    reader.checked(("includes",), namespace, validate_name, namespace, "include namespace")
    if "." in namespace:
        message = f"invalid include namespace {namespace!r}: it may not contain '.'"
        raise reader.error(message, ("includes",), namespace)
    address = ("includes", namespace)
    include = reader.table(value, ("includes",), namespace)
    reader.note_unknown_keys(include, INCLUDE_KEYS, address)
    noted = len(reader.errors)
    source = reader.attempt("", _source, reader, include, namespace)
    inputs = reader.attempt({}, reader.table, include.get("inputs", {}), address, "inputs")
    for value in inputs.values():
        reader.attempt("", reader.string, value, address, "inputs")
    params = reader.attempt({}, reader.table, include.get("params", {}), address, "params")
    reader.attempt(None, reader.plain_values, params, address, "params")
    entry = IncludeEntry(namespace, source, frozen_mapping(inputs), frozen_mapping(params))
    return entry if len(reader.errors) == noted else None


def _source(reader: TomlReader, include: dict[str, Any], namespace: str) -> str:
    address = ("includes", namespace)
    if "source" not in include:
        raise reader.error(f"[includes.{namespace}] has no 'source'", ("includes",), namespace)
    source = reader.string(include["source"], address, "source")
    try:
        if parse_source(source).kind == "url" and source.lower().startswith(LOCAL_URLS):
            raise ValueError("a local file URL is an absolute path; write it relative")
    except ValueError as exc:
        raise reader.error(f"source {source!r} is not usable: {exc}", address, "source") from None
    return source


def dump_definition(definition: BundleDefinition) -> str:
    """The text of ``pipeline.toml`` for ``definition``: the same definition, the same bytes."""
    document = tomlkit.document()
    document["format"] = FORMAT_VERSION
    pipeline = tomlkit.table()
    pipeline["name"] = definition.name
    if definition.notes:
        pipeline["notes"] = definition.notes
    if definition.py_dir is not None:
        pipeline["py-dir"] = definition.py_dir
    document["pipeline"] = pipeline
    if definition.params:
        document["params"] = _table_of(definition.params)
    if definition.inputs:
        inputs = tomlkit.table()
        for name in sorted(definition.inputs):
            inputs[name] = sorted(definition.inputs[name])
        document["inputs"] = inputs
    if definition.nodes:
        document["nodes"] = _nodes_table(definition.nodes)
    if definition.edges:
        edges = tomlkit.aot()
        for edge in sorted(definition.edges, key=lambda e: (e.parent, e.child, e.slot)):
            edges.append(
                tomlkit.table()
                .add("from", edge.parent)
                .add("to", edge.child)
                .add("slot", edge.slot)
            )
        document["edges"] = edges
    if definition.includes:
        document["includes"] = _includes_table(definition.includes)
    return tomlkit.dumps(document).replace("\r\n", "\n")


def _nodes_table(nodes: tuple[NodeEntry, ...]) -> Any:
    table = tomlkit.table(is_super_table=True)
    for node in sorted(nodes, key=lambda n: n.key):
        entry = tomlkit.table()
        if node.path != default_node_path(node.key):
            entry["path"] = node.path
        if node.notes:
            entry["notes"] = node.notes
        if node.group is not None:
            entry["group"] = node.group
        if node.position is not None:
            entry["position"] = [float(node.position[0]), float(node.position[1])]
        table[node.key] = entry
    return table


def _includes_table(includes: tuple[IncludeEntry, ...]) -> Any:
    table = tomlkit.table(is_super_table=True)
    for include in sorted(includes, key=lambda i: i.namespace):
        entry = tomlkit.table()
        entry["source"] = include.source
        if include.inputs:
            entry["inputs"] = _inline(include.inputs)
        if include.params:
            entry["params"] = _inline(include.params)
        table[include.namespace] = entry
    return table


def _table_of(values: Any) -> Any:
    table = tomlkit.table()
    for key in sorted(values):
        table[key] = _value(values[key])
    return table


def _inline(values: Any) -> InlineTable:
    table = tomlkit.inline_table()
    for key in sorted(values):
        table[key] = _value(values[key])
    return table


def _value(value: Any) -> Item | Any:
    """A parameter value as TOML: tables inline with sorted keys, arrays on one line."""
    if isinstance(value, dict) or hasattr(value, "keys"):
        return _inline(value)
    if isinstance(value, list | tuple):
        array = tomlkit.array()
        array.extend(_value(item) for item in value)
        return array
    return value


__all__ = [
    "BundleError",
    "default_node_path",
    "dump_definition",
    "parse_definition",
    "readable_nodes",
]
