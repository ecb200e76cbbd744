"""The ``PipelineGraph`` of a pipeline as JSON bytes, written straight from the view's values.

The canvas asks for the whole graph on every reload: at 10,000 nodes and 30,000 edges,
validating a ``CanvasNode`` and an ``EdgePublic`` from each domain value (``from_attributes``,
alias paths) costs more than reading them from the store. The values of a ``PipelineView`` are
already what the schema would make of them (built from store rows, typed), so
:func:`pipeline_graph_json` puts each node and edge into a plain mapping with the schema's
field names, in the schema's order, and pydantic-core serialises that (the same serialiser as
``model_dump_json``: same strings, timestamps, floats, enums). The small parts (the pipeline,
its project, groups, lineage) still go through their schemas.

This is the one schema written faster, not a second one: ``tests/contract/test_graph_json.py``
asserts that it gives, byte for byte, what ``PipelineGraph.model_validate(view)
.model_dump_json()`` gives on a view holding every kind of value, and that the field names here
are the schema's; the API still declares ``PipelineGraph`` as its answer (the OpenAPI document
is unchanged), and the CLI's ``--json`` still validates it.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json

from nodepipe.domain.model import PipelineView
from nodepipe.schemas.graph import GroupPublic
from nodepipe.schemas.projects import LineagePublic, PipelinePublic, ProjectPublic


def pipeline_graph_json(view: PipelineView) -> bytes:
    """``PipelineGraph.model_validate(view).model_dump_json()``, without validating each node
    and edge again."""
    answer: dict[str, Any] = {
        "pipeline": PipelinePublic.model_validate(view.pipeline).model_dump(),
        "project": ProjectPublic.model_validate(view.project).model_dump(),
        "nodes": [
            {
                "id": node.id,
                "tag": node.tag,
                "notes": node.notes,
                "state": node.state,
                "state_reason": node.state_reason,
                "locked": node.locked,
                "reference": item.is_reference,
                "owner_pipeline_id": node.owner_pipeline_id,
                "isolation": item.isolation,
                "x": float(place.x),
                "y": float(place.y),
                "group_id": place.group_id,
            }
            for item in view.nodes
            for node, place in ((item.node, item.membership),)
        ],
        "edges": [
            {"parent_id": edge.parent_id, "child_id": edge.child_id, "slot": edge.slot}
            for edge in view.edges
        ],
        "groups": [GroupPublic.model_validate(group).model_dump() for group in view.groups],
        "lineage": [LineagePublic.model_validate(link).model_dump() for link in view.lineage],
    }
    return to_json(answer, inf_nan_mode="null")
