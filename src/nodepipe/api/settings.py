"""Where the server listens, and what that implies: token or not, which origins and hosts.

Bound to loopback the app needs no login, but only requests naming a loopback host are
served (a page on another site cannot reach it through DNS rebinding). Bound to any other
address it refuses to start without a token.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from dataclasses import dataclass

from nodepipe.domain.errors import InvalidInputError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    """Every request must carry it when set (required when ``host`` is not loopback)."""

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def check(self) -> None:
        """Refuse to serve a non-loopback address without a token."""
        if not self.loopback and not self.token:
            raise InvalidInputError(
                f"refusing to listen on {self.host} without a token: anyone who can reach it "
                "could run code in this workspace; give --token or let nodepipe generate one"
            )
        if not 0 < self.port < 65536:
            raise InvalidInputError(f"port must be between 1 and 65535, not {self.port}")

    @property
    def allowed_hosts(self) -> frozenset[str] | None:
        """Host names a request may address (None: any, the token guards the server)."""
        if not self.loopback:
            return None
        return frozenset(LOOPBACK_NAMES) | {self.host.strip("[]").lower()}

    @property
    def origins(self) -> list[str]:
        """The app's own origins: the only ones CORS lets in."""
        names = [self.host]
        if self.loopback:
            names += list(LOOPBACK_NAMES)
        elif self.host in ("0.0.0.0", "::"):
            names += [socket.gethostname(), socket.getfqdn(), *LOOPBACK_NAMES]
        return sorted({f"http://{_bracketed(name)}:{self.port}" for name in names})

    def urls(self) -> list[str]:
        """The links to print at start (with the token, like a notebook server)."""
        names = [self.host]
        if self.host in ("0.0.0.0", "::"):
            names = [socket.gethostname(), "127.0.0.1"]
        query = f"?token={self.token}" if self.token else ""
        return [f"http://{_bracketed(name)}:{self.port}/{query}" for name in names]


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
