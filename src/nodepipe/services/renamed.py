"""The Python API's former names of a few methods, kept working for a while.

Each former name warns (``DeprecationWarning``, shown by default in ``__main__`` and by test
runners) and calls the method now named as the CLI and the web app name the same action: one
name for one thing (DESIGN §5). The former names will go in a later version.
"""

from __future__ import annotations


def warn_renamed(former: str, now: str) -> None:
    """Warn the caller of ``former`` (two frames up: past the former method) to call ``now``."""
    import warnings  # only when a former name is called

    warnings.warn(
        f"{former} is now {now}, as the CLI and the web app name it; {former} will be removed"
        " in a later version",
        DeprecationWarning,
        stacklevel=3,
    )
