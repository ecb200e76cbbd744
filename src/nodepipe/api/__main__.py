"""``python -m nodepipe.api [--workspace DIR] [--host H] [--port P] [--token T]``.

The same as ``nodepipe serve`` (the token defaults to ``$NODEPIPE_TOKEN``, else a random one);
the browser tests start servers this way. It is a command line, so an error's hint names a
command, as ``nodepipe serve``'s would.
"""

from __future__ import annotations

import argparse
import os

from nodepipe.api.server import serve
from nodepipe.api.settings import DEFAULT_HOST, DEFAULT_PORT
from nodepipe.cli.hints import with_hint  # a command line: errors hint commands, as the CLI's
from nodepipe.domain.errors import NodepipeError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodepipe.api", description=__doc__)
    parser.add_argument("--workspace", "-w", default=None)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--token", default=os.environ.get("NODEPIPE_TOKEN"))
    args = parser.parse_args(argv)
    try:
        serve(args.workspace, args.host, args.port, args.token)
    except NodepipeError as error:
        parser.exit(2, f"error: {with_hint(str(error), error.hint)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
