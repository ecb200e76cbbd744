"""A run request's options as an error hint's parameters, and back.

When the advice is to run again another way (a Ray cluster that cannot be reached, workers that
need an object storage), the hint carries what the user asked for: the selection and every
option that decides how the nodes run, each as a parameter named after its ``RunRequest``
field, only those given. Each surface repeats the run in its own words: the Python API as the
``RunRequest(...)`` to pass (``services.hints``), the web app as its Run with options dialog.
A URL's credentials are left out, as everywhere a hint repeats what was typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from nodepipe.domain.errors import Action
from nodepipe.domain.url_credentials import text_without_credentials

if TYPE_CHECKING:
    from nodepipe.services.runs.service import RunRequest

REQUEST_ACTIONS = frozenset({Action.RAY_CONNECT, Action.RUN_STORAGE})
"""The hints whose advice is the same run asked another way: they carry the request."""
NAME_LISTS = ("only", "from_", "to")
"""The fields that hold names of nodes, kept one a line (a name holds no control character)."""
REQUEST_FIELDS = (*NAME_LISTS, "force", "jobs", "executor", "ray_address", "shared_fs", "storage")
"""Every option a hint may carry, in ``RunRequest``'s order."""

Value = str | int | bool | list[str]


def request_params(request: RunRequest) -> dict[str, str]:
    """The options given in ``request`` (not the defaults), as hint parameters."""
    params = {name: "\n".join(getattr(request, name) or ()) for name in NAME_LISTS}
    params = {name: names for name, names in params.items() if names}
    if request.force:
        params["force"] = "true"
    if request.jobs is not None:
        params["jobs"] = str(request.jobs)
    if request.executor != "local":
        params["executor"] = request.executor
    if request.ray_address is not None:
        params["ray_address"] = text_without_credentials(request.ray_address)
    if request.shared_fs is not None:
        params["shared_fs"] = "true" if request.shared_fs else "false"
    if request.storage is not None:
        params["storage"] = text_without_credentials(request.storage)
    return params


def request_values(params: Mapping[str, str]) -> dict[str, Value]:
    """The options ``params`` carries (``request_params``), as the values of their fields."""
    values: dict[str, Value] = {}
    for name in REQUEST_FIELDS:
        given = params.get(name)
        if given is None:
            continue
        if name in NAME_LISTS:
            values[name] = given.split("\n")
        elif name in ("force", "shared_fs"):
            values[name] = given == "true"
        elif name == "jobs":
            values[name] = int(given)
        else:
            values[name] = given
    return values
