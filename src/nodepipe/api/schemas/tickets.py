"""The bodies of ``POST /api/tickets``: the address a ticket is asked for, and that address
with its ticket."""

from __future__ import annotations

from pydantic import Field

from nodepipe.api.schemas.common import Input
from nodepipe.schemas.base import Schema


class TicketCreate(Input):
    url: str = Field(
        max_length=4096,
        pattern=r"^/api/[^#]*$",
        description="The address (path and query, under /api/) to GET with the ticket, "
        "e.g. /api/pipelines/p/nodes/n/outputs/file?file=reports%2Fplot.svg.",
    )


class TicketPublic(Schema):
    url: str = Field(description="The address with ?ticket=… added: a plain GET of it is let in.")
    expires_in: int = Field(description="Seconds the ticket is good for.")
