"""Where the server listens, its token, its password, and what follows: origins and hosts.

Every server has a token, on loopback too (any OS user of the machine can reach loopback): the
one configured, or a random one per start. Bound to loopback, only requests naming a loopback
host are served (a page on another site cannot reach it through DNS rebinding). A password
hash, when configured, lets browsers log in without the token link.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from dataclasses import dataclass, field

from nodepipe.domain.errors import InvalidInputError
from nodepipe.services.packages.uploads import MAX_UPLOAD_BYTES

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
MIN_TOKEN_LENGTH = 16


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
    token: str = field(default_factory=new_token, repr=False)
    """Every API request must carry it, or the session value `POST /login` answers, or a ticket."""
    password_hash: str | None = field(default=None, repr=False)
    """``[server] password`` of nodepipe.toml: browsers may log in with that password."""
    max_package_upload: int = MAX_UPLOAD_BYTES
    """The largest package file Pull package… takes (``POST /api/packages/upload``)."""

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def check(self) -> None:
        """Refuse a guessable token and a port out of range."""
        if len(self.token) < MIN_TOKEN_LENGTH:
            raise InvalidInputError(
                f"a server token needs at least {MIN_TOKEN_LENGTH} characters; "
                "leave it out and nodepipe makes a random one"
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

    def base_urls(self) -> list[str]:
        """Where the server answers (``http://host:port``), one per name worth printing."""
        names = [self.host]
        if self.host in ("0.0.0.0", "::"):
            names = [socket.gethostname(), "127.0.0.1"]
        return [f"http://{_bracketed(name)}:{self.port}" for name in names]

    @property
    def local_url(self) -> str:
        """Where a client on this machine reaches the server (what ``server list`` shows)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://{_bracketed(host)}:{self.port}"

    def urls(self) -> list[str]:
        """The links to print at start: they carry the token, like a notebook server's."""
        return [f"{url}/?token={self.token}" for url in self.base_urls()]


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
