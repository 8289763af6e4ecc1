"""DHL tracking payloads in, normalized results out: format detection and dispatch.

Four DHL formats are read (each module's docstring states its status, time and code rules):

* Shipment Tracking – Unified API JSON and its problem+json errors (``parse_unified``);
* DHL Express XML-PI ``TrackingResponse`` (``parse_express``);
* DHL Parcel DE ``piece-shipment-list`` XML (``parse_parcel_de``);
* DHL eCommerce legacy ``<track>`` XML (``parse_ecommerce``).

``parse`` returns one result per tracking number (duplicates merged, events deduplicated and
newest first) and raises :class:`PayloadError` for anything that is not one of these formats:
empty, malformed or truncated JSON/XML, an HTML page, or another carrier's payload.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from carriers.dhl.common import local_name, looks_like_html, merge_results, read_xml
from carriers.dhl.parse_ecommerce import ecommerce_results, is_ecommerce_legacy
from carriers.dhl.parse_express import ERROR_ROOTS, express_results
from carriers.dhl.parse_parcel_de import is_parcel_de, parcel_de_results
from carriers.dhl.parse_unified import is_problem, is_unified, problem_results, unified_results
from carriers.models import PayloadError, TrackingResult

DHL_NAMESPACE = "http://www.dhl.com"
EXPECTED = (
    "a DHL tracking response (Unified API JSON or problem+json, Express XML-PI "
    "TrackingResponse, Parcel DE piece-shipment-list XML or eCommerce <track> XML)"
)


def _body(payload: bytes) -> bytes:
    return payload.removeprefix(b"\xef\xbb\xbf").strip()


def _is_express(root: ET.Element) -> bool:
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    name = local_name(root.tag)
    return namespace == DHL_NAMESPACE and (name == "TrackingResponse" or name in ERROR_ROOTS)


def _json_results(body: bytes) -> list[TrackingResult]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(
            f"malformed or truncated JSON ({exc}); expected {EXPECTED}: fetch the tracking "
            "response again and keep the whole body"
        ) from exc
    if is_unified(doc):
        return unified_results(doc)
    if is_problem(doc):
        return problem_results(doc)
    raise PayloadError(
        f"JSON is not {EXPECTED}: a Unified body has a 'shipments' list, an error body "
        "'title' and 'status'; check that the payload is from DHL's /track/shipments"
    )


def _xml_results(body: bytes) -> list[TrackingResult]:
    root = read_xml(body, EXPECTED)
    if _is_express(root):
        return express_results(root)
    if is_parcel_de(root):
        return parcel_de_results(root)
    if is_ecommerce_legacy(root):
        return ecommerce_results(root)
    raise PayloadError(
        f"XML root <{local_name(root.tag)}> is not {EXPECTED}; check that the payload is a "
        "DHL tracking response and not another carrier's"
    )


def parse(payload: bytes) -> list[TrackingResult]:
    """One normalized result per tracking number in a DHL tracking payload."""
    body = _body(payload)
    if not body:
        raise PayloadError(f"empty payload; expected {EXPECTED}")
    if looks_like_html(body):
        raise PayloadError(
            f"got an HTML page instead of {EXPECTED}; the request probably reached a login "
            "or error page: check the DHL base URL and API key"
        )
    if body[:1] in (b"{", b"["):
        return merge_results(_json_results(body))
    if body[:1] == b"<":
        return merge_results(_xml_results(body))
    raise PayloadError(f"payload is neither JSON nor XML; expected {EXPECTED}")


def sniff(payload: bytes) -> bool:
    """True only for DHL's tracking formats (never for another carrier's payload)."""
    body = _body(payload)
    if body[:1] in (b"{", b"["):
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return False
        return is_unified(doc) or is_problem(doc)
    if body[:1] != b"<" or looks_like_html(body):
        return False
    try:
        root = read_xml(body, EXPECTED)
    except PayloadError:
        return False
    return _is_express(root) or is_parcel_de(root) or is_ecommerce_legacy(root)
