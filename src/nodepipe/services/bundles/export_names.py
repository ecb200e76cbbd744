"""What an export refuses by name: every name a bundle would hold that an import refuses.

A workspace made before a naming rule existed may still hold a name the rule now refuses (a
node tagged ``.`` would be written to ``nodes/.``, the bundle's ``nodes/`` folder itself).
Before anything is written, each name an export writes is held to the rule an import applies
(``bundles.schema`` and ``bundles.schema_graph``): the pipeline's tag, node tags (the node
folders' keys), group names, include namespaces and the names of their nodes, input names and
edge slots. A refusal names the offender and carries the hint to rename it, if it can be.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nodepipe.bundles.model import BundleDefinition
from nodepipe.bundles.schema_graph import split_reference
from nodepipe.domain.errors import Action, Hint, InvalidInputError
from nodepipe.domain.names import validate_name, validate_slot


def check_names(
    definition: BundleDefinition,
    pipeline_id: str,
    node_ids: Mapping[str, str],
    included: Iterable[str],
) -> None:
    """Refuse ``definition`` (of pipeline ``pipeline_id``; ``node_ids``: node key → node id;
    ``included``: the ``NS.key`` names of the nodes of kept includes, whose data it may
    write) if an import would refuse one of its names; nothing is written yet."""
    tag = definition.name
    _check(
        tag, tag, "pipeline tag", Hint(Action.PIPELINE_RETAG, {"pipeline": pipeline_id, "tag": tag})
    )
    namespaces = {include.namespace for include in definition.includes}
    for node in definition.nodes:
        node_id = node_ids.get(node.key, node.key)
        hint = Hint(Action.NODE_RETAG, {"node": node_id, "tag": node.key, "pipeline": tag})
        _check(tag, node.key, "node tag", hint)
        split = split_reference(node.key, namespaces)
        if split is not None:
            raise _refused(
                tag,
                f"node {node.key!r} is named like node {split[1]!r} of include {split[0]!r}",
                hint,
            )
        if node.group is not None:
            params = {"pipeline": pipeline_id, "group": node.group, "tag": tag}
            _check(tag, node.group, "group name", Hint(Action.GROUP_RENAME, params))
    for namespace in sorted(namespaces):
        _check(tag, namespace, "include namespace")
    for name in sorted(included):
        _check(tag, name.partition(".")[2], f"node tag (of {name!r})")
    for name in sorted(definition.inputs):
        _check(tag, name, "input", slot=True)
    for edge in definition.edges:
        _check(tag, edge.slot, f"slot of edge {edge.parent} → {edge.child}", slot=True)


def _check(
    pipeline: str, value: str, what: str, hint: Hint | None = None, slot: bool = False
) -> None:
    try:
        if slot:
            validate_slot(value)
        else:
            validate_name(value, what)
    except InvalidInputError as error:
        problem = str(error).replace("invalid slot", f"invalid {what}", 1) if slot else str(error)
        raise _refused(pipeline, problem, hint) from None


def _refused(pipeline: str, problem: str, hint: Hint | None) -> InvalidInputError:
    return InvalidInputError(
        f"pipeline {pipeline!r} cannot be exported: {problem}; an import would refuse the "
        "bundle, so nothing was written",
        hint=hint,
    )
