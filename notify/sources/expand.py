"""Built-in expanders: turn one query row into several contract rows.

Some shops keep a list in one column (the WooCommerce Shipment Tracking extension stores
every tracking number of an order as one PHP-serialized array in the order meta
``_wc_shipment_tracking_items``). A query names its expander with a comment line
``-- oasis: expand <name>``; the expander receives each row (column -> shop value) and
returns rows in the table's contract columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from notify.sources.php import PhpValueError, unserialize

Row = dict[str, Any]


def _shipped_at(value: Any) -> Any:
    """``date_shipped`` is a Unix time (the extension) or a date string (some importers)."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    return text


def php_tracking_items(row: Row) -> Iterator[Row]:
    """One shipment per item of a ``_wc_shipment_tracking_items`` array.

    Input columns: ``order_id``, ``tracking_items`` (the serialized array) and any other
    shipment contract columns (service, postal codes, country), copied to every item. The
    shipment id is ``<order_id>-st<n>`` (n = 1-based position in the array), so a query for
    order lines can name it (``<order_id>-st1`` when the order has exactly one item).
    Carrier: the provider slug, else the custom provider name.
    """
    raw = row.get("tracking_items")
    if raw in (None, ""):
        return
    try:
        items = unserialize(raw if isinstance(raw, bytes | str) else str(raw))
    except PhpValueError as exc:
        raise ExpandError(
            f"order {row.get('order_id')}: _wc_shipment_tracking_items is unreadable ({exc})"
        ) from None
    if not isinstance(items, dict):
        return
    base = {k: v for k, v in row.items() if k != "tracking_items"}
    for position, item in enumerate(items.values(), start=1):
        if not isinstance(item, dict):
            continue
        provider = item.get("tracking_provider") or item.get("custom_tracking_provider") or ""
        yield {
            **base,
            "shipment_id": f"{row['order_id']}-st{position}",
            "carrier": provider,
            "tracking_number": str(item.get("tracking_number") or "").strip(),
            "shipped_at": _shipped_at(item.get("date_shipped")),
        }


class ExpandError(ValueError):
    """A value an expander needs cannot be read; the row is rejected with this reason."""


EXPANDERS: dict[str, Callable[[Row], Iterator[Row]]] = {
    "php_tracking_items": php_tracking_items,
}


def expander(name: str) -> Callable[[Row], Iterator[Row]]:
    try:
        return EXPANDERS[name]
    except KeyError:
        raise LookupError(
            f"no expander {name!r}; built-in expanders: {', '.join(sorted(EXPANDERS))}"
        ) from None
