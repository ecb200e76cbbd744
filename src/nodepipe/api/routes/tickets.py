"""``/tickets``: a short-lived ticket to GET one address (see ``nodepipe.api.tickets``).

The web app asks for one before it points an ``<img>``, an ``<iframe>`` or a download at an
API address: those cannot send its credential header, and the credential must not be put in
an address.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, unquote, urlsplit

from nodepipe.api import tickets
from nodepipe.api.deps import ServicesDep
from nodepipe.api.routing import resource_router
from nodepipe.api.schemas.tickets import TicketCreate, TicketPublic

router = resource_router(tags=["workspace"])


@router.post("/tickets")
def create_ticket(body: TicketCreate, services: ServicesDep) -> TicketPublic:
    """A ticket that lets a plain GET of ``url`` in, for a minute, and nothing else."""
    split = urlsplit(body.url)
    query = parse_qsl(split.query, keep_blank_values=True)
    target = tickets.address(unquote(split.path), query)
    ticket = tickets.mint(services.settings, target, time.time())
    joiner = "&" if split.query else "?"
    return TicketPublic(
        url=f"{body.url}{joiner}{tickets.TICKET_PARAM}={ticket}", expires_in=tickets.TICKET_SECONDS
    )
