"""Typed request bodies (``…Create`` and ``…Update`` come in) and what only the web app is
answered (jobs, log tails, canvas previews). What both interfaces show is in
``nodepipe.schemas``: the routes answer with those, read from domain values."""
