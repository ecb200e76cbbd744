"""Which Ray addresses nodepipe checks for a cluster before Ray is loaded, and which it leaves to
Ray: every form of ``ray.init``'s address that names no host is left alone, without a socket.

``execution.ray.address`` imports no Ray; the network is never reached here (a connection
attempt fails the test).
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from nodepipe.domain.errors import InvalidInputError
from nodepipe.execution.ray.address import check_answers


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Connection attempts, refused at once (none is expected where nothing is checked)."""
    attempts: list[tuple[Any, ...]] = []

    def create_connection(where: Any, *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(where)
        raise ConnectionRefusedError("refused by the test")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts


@pytest.mark.parametrize("address", [None, "auto", "local", "anyscale://prod"])
def test_addresses_that_name_no_host_are_left_to_ray(
    address: str | None, no_network: list[tuple[Any, ...]]
) -> None:
    """No address and ``local`` start a local Ray, ``auto`` finds the cluster, other schemes
    are Ray's plugins': none is refused, nothing is connected to."""
    check_answers(address)

    assert no_network == []


@pytest.mark.parametrize(
    ("address", "where"),
    [
        ("127.0.0.1:6379", ("127.0.0.1", 6379)),
        ("ray://head", ("head", 10001)),
        ("[::1]:6379", ("::1", 6379)),
    ],
)
def test_an_address_that_names_a_host_is_checked(
    address: str, where: tuple[str, int], no_network: list[tuple[Any, ...]]
) -> None:
    with pytest.raises(InvalidInputError, match="connection refused: nothing listens"):
        check_answers(address)

    assert no_network == [where]


@pytest.mark.parametrize("address", ["Local", "localhost", "head", ""])
def test_a_word_ray_does_not_know_is_not_an_address(
    address: str, no_network: list[tuple[Any, ...]]
) -> None:
    """Ray spells its words in lower case and wants a port with a host: it would refuse these
    too (``Invalid address format``), nodepipe does at once."""
    with pytest.raises(InvalidInputError, match="it is not HOST:PORT"):
        check_answers(address)

    assert no_network == []
