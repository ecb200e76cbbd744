"""Tickets: short-lived permissions to GET one address, for URLs a browser must fetch plainly.

An ``<img>``, a sandboxed report's ``<iframe>`` and a download cannot send the app's
credential header, and the credential itself must never sit in an address the page keeps. So
the page asks ``POST /api/tickets`` for a ticket to one address and appends it as
``?ticket=…``. A ticket is ``EXPIRY.MAC``: an HMAC, keyed by the server's token, of the expiry,
the password hash and the address (its path and its query without ``ticket``, sorted). It is
worth nothing for any other address, any other method than GET or HEAD, after
``TICKET_SECONDS``, or once the server's token or password changes.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from nodepipe.api.settings import ServerSettings

TICKET_SECONDS = 60
TICKET_PARAM = "ticket"


def address(path: str, query: list[tuple[str, str]]) -> str:
    """The form a ticket is bound to: the decoded path and the sorted query without the ticket."""
    kept = sorted((key, value) for key, value in query if key != TICKET_PARAM)
    return f"{path}?{urlencode(kept)}"


def mint(settings: ServerSettings, target: str, now: float) -> str:
    """A ticket for ``target`` (as ``address`` makes it), good for ``TICKET_SECONDS``."""
    expires = int(now) + TICKET_SECONDS
    return f"{expires}.{_mac(settings, expires, target)}"


def admits(settings: ServerSettings, ticket: str, target: str, now: float) -> bool:
    """True when ``ticket`` was minted by this server for ``target`` and has not expired."""
    expiry, _, mac = ticket.partition(".")
    if not expiry.isdigit() or len(expiry) > 12 or int(expiry) < now:
        return False
    expected = _mac(settings, int(expiry), target)
    return hmac.compare_digest(mac.encode(), expected.encode())


def _mac(settings: ServerSettings, expires: int, target: str) -> str:
    message = "\0".join(["nodepipe ticket", settings.password_hash or "", str(expires), target])
    return hmac.new(settings.token.encode(), message.encode(), hashlib.sha256).hexdigest()
