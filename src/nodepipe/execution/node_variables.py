"""The environment variables a node process gets: an allow-list, never nodepipe's secrets.

A node's code is the user's, but it runs beside nodepipe's own secrets: the store URL (with its
password) and the web server's token live in nodepipe's environment. A node process therefore
inherits only the variables on ``ALLOWED`` (the shell's basics, locale, temporary folders,
proxies and certificates, GPU and thread settings) plus those its ``[tool.nodepipe] pass-env``
names (exact names, or prefixes ending in ``*``: ``["WANDB_API_KEY", "AWS_*"]``), and then the
``NODEPIPE_*`` variables nodepipe sets for the node itself. Variables on ``NEVER`` are not passed
even when named.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping

ALLOWED = (
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "COLORTERM", "TZ", "LANG", "LANGUAGE",
    "LC_*", "TMPDIR", "TEMP", "TMP", "XDG_*", "DISPLAY", "WAYLAND_DISPLAY",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
    "no_proxy", "all_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE", "CUDA_*", "NVIDIA_*", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_MAX_THREADS",
    "LD_LIBRARY_PATH", "JAVA_HOME", "MPLBACKEND", "PYTHONUNBUFFERED", "PYTHONIOENCODING",
    "PYTHONWARNINGS", "PYTHONHASHSEED", "PYTHONFAULTHANDLER", "PYTHONUTF8",
)  # fmt: skip
"""Variables of nodepipe's environment that every node process inherits (``*``: a prefix)."""

NEVER = ("NODEPIPE_*", "PGPASSWORD", "PGPASSFILE", "UV_PUBLISH_*", "TWINE_*")
"""Never passed to a node, even when its ``pass-env`` names them: nodepipe's store URL and
token, database and publishing credentials. (``NODEPIPE_*`` variables describing the node are
set by nodepipe after this filter.)"""


def node_variables(
    environment: Mapping[str, str] | None = None, extra: Iterable[str] = ()
) -> dict[str, str]:
    """The variables of ``environment`` (default: this process's) a node process inherits:
    those on ``ALLOWED`` and in ``extra`` (a node's ``pass-env``), none on ``NEVER``."""
    source = os.environ if environment is None else environment
    named = _ALLOWED if not extra else _Patterns((*ALLOWED, *extra))
    return {
        name: value
        for name, value in source.items()
        if named.match(name) and not _NEVER.match(name)
    }


def withheld(extra: Iterable[str]) -> list[str]:
    """The names of a node's ``pass-env`` that it will never get (each on ``NEVER``, or a
    prefix within one of its prefixes): said in the node's log, so that a variable missing
    in the node is not a mystery. A wider prefix (``PG*``) still passes what ``NEVER`` allows."""
    return [
        name
        for name in extra
        if _NEVER.match(name.removesuffix("*"))
        and (not name.endswith("*") or name[:-1].startswith(_NEVER.prefixes))
    ]


class _Patterns:
    """Names and ``*``-ended prefixes, matched without a regular expression where a prefix is
    plain (every pattern of ``ALLOWED`` and ``NEVER``): a run's first launch does not compile
    one per pattern. A prefix with other wildcards (``?``, ``[``) is matched as ``fnmatch``
    would, as before."""

    __slots__ = ("exact", "globs", "prefixes")

    def __init__(self, patterns: Iterable[str]) -> None:
        listed = tuple(patterns)
        self.exact = frozenset(p for p in listed if not p.endswith("*"))
        starred = [p for p in listed if p.endswith("*")]
        self.prefixes = tuple(p[:-1] for p in starred if not _WILDCARDS.intersection(p[:-1]))
        self.globs = tuple(p for p in starred if _WILDCARDS.intersection(p[:-1]))

    def match(self, name: str) -> bool:
        return (
            name in self.exact
            or name.startswith(self.prefixes)
            or any(fnmatch.fnmatchcase(name, p) for p in self.globs)
        )


_WILDCARDS = frozenset("*?[")
_ALLOWED = _Patterns(ALLOWED)
_NEVER = _Patterns(NEVER)
