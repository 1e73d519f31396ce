"""Where to split a long read into id ranges that run side by side.

Autotask links the pages of a query one after another (``nextPageUrl``), so 100 pages are 100 round
trips in a row, whatever the thread limit allows. Its documented alternative is to filter on ``id``
ranges: each range is its own short chain, and up to the thread limit of them run at once. Ranges
are cut on page boundaries (multiples of 500 records) so that splitting costs no extra full pages:
from the ids the snapshot recorded, or, on a first read, estimated from the first page's id density
and a count of the whole result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from providers.autotask.filters import F, Filter

PAGE = 500


def page_shares(pages: int, ways: int) -> list[int]:
    """``pages`` spread over at most ``ways`` ranges as evenly as whole pages allow, largest first."""
    ways = max(1, min(ways, pages))
    return [pages // ways + (1 if i < pages % ways else 0) for i in range(ways)]


def cuts_from_ids(ids: Sequence[int], ways: int, page: int = PAGE) -> list[int]:
    """Ids after which to cut: range ``i`` holds whole pages of the known ``ids`` (sorted or not)."""
    known = sorted(set(ids))
    shares = page_shares(math.ceil(len(known) / page), ways)
    cuts, done = [], 0
    for share in shares[:-1]:
        done += share * page
        cuts.append(known[done - 1])
    return cuts


def cuts_from_estimate(
    first_id: int, last_id: int, read: int, total: int, ways: int, page: int = PAGE
) -> list[int]:
    """Cuts above ``last_id`` for the ``total - read`` records still to read, assuming they are as
    dense in ids as the ``read`` ones between ``first_id`` and ``last_id``. A wrong guess costs a
    longer or shorter range, never a missed record: the last range is open above."""
    remaining = total - read
    if remaining <= 0 or read <= 0:
        return []
    per_id = read / max(1, last_id - first_id + 1)
    shares = page_shares(math.ceil(remaining / page), ways)
    cuts, done = [], 0
    for share in shares[:-1]:
        done += share * page
        cuts.append(last_id + max(1, round(done / per_id)))
    return sorted(set(cuts))


def id_ranges(cuts: Sequence[int], above: int | None = None) -> list[list[Filter]]:
    """Filters for the ranges between ``cuts`` (ids above ``above`` only, when given), the first
    open below and the last open above."""
    bounds: list[int | None] = [above, *cuts, None]
    ranges: list[list[Filter]] = []
    for low, high in zip(bounds, bounds[1:], strict=False):
        limits = []
        if low is not None:
            limits.append(F.gt("id", low))
        if high is not None:
            limits.append(F.lte("id", high))
        ranges.append(limits)
    return ranges
