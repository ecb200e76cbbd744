"""Option types shared by the commands."""

from __future__ import annotations

from typing import Annotated

import typer

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
PipelineOption = Annotated[
    str, typer.Option("--pipeline", "-p", help="The pipeline (id or tag) this applies in.")
]
OptionalPipeline = Annotated[
    str | None,
    typer.Option("--pipeline", "-p", help="Look the node up in this pipeline only."),
]
WithData = Annotated[bool, typer.Option("--with-data", help="Copy outputs (data/, reports/) too.")]
