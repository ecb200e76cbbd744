"""``pipeline.toml``: read it into a ``BundleDefinition`` and write one back, deterministically.

Reading checks everything that one file can tell: the ``format`` (an unknown major version is
refused), every key (an unknown one is named with its line), names (node keys are tags;
include namespaces also may not hold ``.``), paths (relative, POSIX, inside the bundle), edges
(ends are nodes here or ``NS.key`` of a declared include; slots follow the slot rule) and cycles
among this file's own nodes. What needs other files (an include's nodes) is checked when the
includes are resolved (``nodepipe.bundles.resolve``).

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
    """The definition ``text`` holds; BundleError naming ``origin`` and the line otherwise."""
    reader = TomlReader(text, origin)
    document = reader.document
    _check_format(reader, document)
    reader.only_keys(document, TOP_KEYS, ())
    pipeline = reader.table(document.get("pipeline", {}), (), "pipeline")
    reader.only_keys(pipeline, PIPELINE_KEYS, ("pipeline",))
    if "name" not in pipeline:
        raise reader.error("[pipeline] has no 'name'", (), "pipeline")
    name = reader.string(pipeline["name"], ("pipeline",), "name")
    reader.checked(("pipeline",), "name", validate_name, name, "pipeline name")
    py_dir = pipeline.get("py-dir")
    if py_dir is not None:
        py_dir = _bundle_path(reader, py_dir, ("pipeline",), "py-dir")
    params = reader.table(document.get("params", {}), (), "params")
    reader.plain_values(params, (), "params")
    nodes = _nodes(reader, reader.table(document.get("nodes", {}), (), "nodes"))
    includes = _includes(reader, reader.table(document.get("includes", {}), (), "includes"))
    keys = {node.key for node in nodes}
    namespaces = {include.namespace for include in includes}
    schema_graph.check_node_keys(reader, keys, namespaces)
    inputs = schema_graph.read_inputs(reader, document.get("inputs", {}), keys)
    edges = schema_graph.read_edges(reader, document.get("edges", []), keys, namespaces)
    schema_graph.check_include_inputs(reader, includes, keys, namespaces)
    schema_graph.check_acyclic(reader, edges, keys)
    return BundleDefinition(
        name=name,
        notes=reader.string(pipeline.get("notes", ""), ("pipeline",), "notes"),
        py_dir=py_dir,
        params=frozen_mapping(params),
        inputs=frozen_mapping(inputs),
        nodes=nodes,
        edges=edges,
        includes=includes,
    )


def _check_format(reader: TomlReader, document: dict[str, Any]) -> None:
    if "format" not in document:
        raise reader.error(f"'format = {FORMAT_VERSION}' is missing (the bundle schema version)")
    value = document["format"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise reader.error(
            f"'format' must be a whole number such as {FORMAT_VERSION}", (), "format"
        )
    if value > FORMAT_VERSION:
        raise reader.error(
            f"bundle format {value} is newer than this nodepipe reads (format {FORMAT_VERSION}); "
            "upgrade nodepipe to read this bundle",
            (),
            "format",
        )


def _bundle_path(reader: TomlReader, value: Any, address: tuple[str, ...], key: str) -> str:
    text = reader.string(value, address, key)
    problem = path_problem(text)
    if problem:
        raise reader.error(f"{key} {text!r} is not usable: {problem}", address, key)
    return normal_path(text)


def _nodes(reader: TomlReader, table: dict[str, Any]) -> tuple[NodeEntry, ...]:
    entries = []
    for key in sorted(table):
        reader.checked(("nodes",), key, validate_name, key, "node tag")
        if key == ".":
            raise reader.error("invalid node tag '.': it names no folder", ("nodes",), key)
        address = ("nodes", key)
        node = reader.table(table[key], ("nodes",), key)
        reader.only_keys(node, NODE_KEYS, address)
        group = node.get("group")
        if group is not None:
            group = reader.string(group, address, "group")
            reader.checked(address, "group", validate_name, group, "group name")
        entries.append(
            NodeEntry(
                key=key,
                path=_bundle_path(
                    reader, node.get("path", default_node_path(key)), address, "path"
                ),
                notes=reader.string(node.get("notes", ""), address, "notes"),
                group=group,
                position=_position(reader, node.get("position"), address),
            )
        )
    return tuple(entries)


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
    entries = []
    for namespace in sorted(table):
        reader.checked(("includes",), namespace, validate_name, namespace, "include namespace")
        if "." in namespace:
            message = f"invalid include namespace {namespace!r}: it may not contain '.'"
            raise reader.error(message, ("includes",), namespace)
        address = ("includes", namespace)
        include = reader.table(table[namespace], ("includes",), namespace)
        reader.only_keys(include, INCLUDE_KEYS, address)
        if "source" not in include:
            raise reader.error(f"[includes.{namespace}] has no 'source'", ("includes",), namespace)
        source = reader.string(include["source"], address, "source")
        try:
            if parse_source(source).kind == "url" and source.lower().startswith(LOCAL_URLS):
                raise ValueError("a local file URL is an absolute path; write it relative")
        except ValueError as exc:
            raise reader.error(
                f"source {source!r} is not usable: {exc}", address, "source"
            ) from None
        inputs = reader.table(include.get("inputs", {}), address, "inputs")
        for value in inputs.values():
            reader.string(value, address, "inputs")
        params = reader.table(include.get("params", {}), address, "params")
        reader.plain_values(params, address, "params")
        entries.append(
            IncludeEntry(namespace, source, frozen_mapping(inputs), frozen_mapping(params))
        )
    return tuple(entries)


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


__all__ = ["BundleError", "default_node_path", "dump_definition", "parse_definition"]
