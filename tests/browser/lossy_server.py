"""``python -m browser.lossy_server``: ``python -m nodepipe.api`` whose event hub finds every
page too slow while a run ends.

The hub's real overflow path (``live.events.Subscription.deliver``: a subscriber with too many
unread events gets one ``resync`` in place of them) runs with its limit at zero for each
``node_finished`` and ``run_finished``: the page receives a ``resync`` where the run's end
would have been (one for both while the first is unread), as a page that fell 10,000 events
behind does. Everything else is delivered as usual.
"""

from __future__ import annotations

from nodepipe.api.__main__ import main
from nodepipe.live import events

LOST = ("node_finished", "run_finished")

_deliver = events.Subscription.deliver


def _deliver_lossy(subscription: events.Subscription, event: events.HubEvent | None) -> None:
    if event is None or event.type not in LOST:
        _deliver(subscription, event)
        return
    limit, events.MAX_PENDING = events.MAX_PENDING, 0  # this page is "behind" right now
    try:
        _deliver(subscription, event)
    finally:
        events.MAX_PENDING = limit


events.Subscription.deliver = _deliver_lossy  # type: ignore[method-assign]

if __name__ == "__main__":
    raise SystemExit(main())
