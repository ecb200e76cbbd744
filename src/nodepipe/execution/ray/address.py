"""Whether a Ray cluster answers at the address a run names, decided before Ray is imported.

Ray's own connect to an address where no cluster answers does not fail: it retries for many
minutes (20 rounds of about 40 s in Ray 2.60), printing only its own warnings, and Ctrl-C is
heard only between two rounds. So a run that names an address (``HOST:PORT``, or
``ray://HOST:PORT`` for a Ray Client server) first opens a TCP connection to it, with a short
timeout: nothing listening there, a host that does not answer within ``ANSWER_SECONDS``, a name
that does not resolve, each refuses the run at once, in nodepipe's words, before anything is
claimed. A cluster that accepts the connection is never refused here, however slowly it goes
on to answer: Ray's connect takes it from there.

Only what the address names is checked. The forms of ``ray.init``'s address that name no host
(``NOT_NETWORK``: no address or ``local``, a local Ray started for the run; ``auto``, Ray
finds the cluster itself: ``RAY_ADDRESS``, the last ``ray start`` of this machine) and other
schemes (``anyscale://``…, resolved by Ray's plugins) are left to Ray as before. Ray
connects to a loopback address (``127.0.0.1``, ``localhost``) through this machine's own address
instead; a head started here with ``ray start --head`` listens on both.
"""

from __future__ import annotations

import re
import socket

from nodepipe.domain.errors import Action, Hint, InvalidInputError

ANSWER_SECONDS = 5.0
"""How long a host may take to accept a TCP connection: a lost SYN is sent again after 1 s,
then 3 s, so a slow but working network still answers within it."""

RAY_CLIENT_PORT = 10001
"""The port of ``ray://HOST`` without one (Ray Client's default)."""

NOT_NETWORK = frozenset({"auto", "local"})
"""The addresses ``ray.init`` takes that name no host (as Ray spells them, case and all):
``local`` starts a local Ray, ``auto`` finds the cluster (``RAY_ADDRESS``, the last
``ray start`` here)."""

_CLIENT_SCHEME = "ray://"
_HOST_PORT = re.compile(r"(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^\[\]]+?))(?::(?P<port>\d{1,5}))?")


def check_answers(address: str | None, timeout: float = ANSWER_SECONDS) -> None:
    """Refuse ``address`` unless something accepts a TCP connection there within ``timeout``;
    no address, ``NOT_NETWORK`` and schemes other than ``ray://`` are not checked (Ray resolves
    them).

    Raises ``InvalidInputError`` (with the ``ray.connect`` hint) naming the address and why."""
    if address is None or address in NOT_NETWORK:
        return
    if "://" in address and not address.startswith(_CLIENT_SCHEME):
        return
    host, port = endpoint(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        why = _why_not(exc, port, timeout)
    raise unreachable(address, f"no Ray cluster answers there ({why})")


def endpoint(address: str) -> tuple[str, int]:
    """The host and port that ``address`` (``HOST:PORT``, ``[IPV6]:PORT``, ``ray://HOST[:PORT]``)
    names; a malformed one is refused as Ray would refuse it, but at once."""
    client = address.startswith(_CLIENT_SCHEME)
    found = _HOST_PORT.fullmatch(address.removeprefix(_CLIENT_SCHEME))
    port = None
    if found is not None:
        port = int(found["port"]) if found["port"] else RAY_CLIENT_PORT if client else None
    if found is None or port is None or not 0 < port < 65536:
        raise unreachable(address, "it is not HOST:PORT (the address of the cluster's head node)")
    return found["v6"] or found["host"], port


def unreachable(address: str, why: str) -> InvalidInputError:
    """The error of a run whose cluster at ``address`` cannot be reached, and why."""
    return InvalidInputError(
        f"cannot connect to the Ray cluster at {address}: {why}", hint=Hint(Action.RAY_CONNECT)
    )


def _why_not(error: OSError, port: int, timeout: float) -> str:
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused: nothing listens on port {port}"
    if isinstance(error, TimeoutError):
        return f"its host did not answer within {timeout:g} s"
    if isinstance(error, socket.gaierror):
        return f"no such host: {error.strerror or error}"
    return (error.strerror or str(error) or type(error).__name__).lower()
