"""PHP serialize() reading: plain data only, byte lengths, no objects."""

from __future__ import annotations

import pytest

from notify.sources.php import PhpValueError, serialize, unserialize

# As the Shipment Tracking extension stores _wc_shipment_tracking_items (one item).
STORED = (
    'a:1:{i:0;a:6:{s:17:"tracking_provider";s:3:"ups";s:24:"custom_tracking_provider";s:0:"";'
    's:20:"custom_tracking_link";s:0:"";s:15:"tracking_number";s:18:"1Z999AA10123456784";'
    's:12:"date_shipped";s:10:"1732060800";s:11:"tracking_id";s:32:"'
    '0123456789abcdef0123456789abcdef";}}'
)


def test_reads_a_stored_tracking_items_array():
    items = unserialize(STORED)
    assert list(items) == [0]
    assert items[0]["tracking_number"] == "1Z999AA10123456784"
    assert items[0]["date_shipped"] == "1732060800"
    assert items[0]["custom_tracking_provider"] == ""


def test_string_lengths_are_bytes_so_non_ascii_text_reads_right():
    value = {"name": "Zoë Łukasz 王芳", "n": 3, "ok": True, "none": None, "x": 1.5}
    text = serialize(value)
    assert 's:19:"Zoë Łukasz 王芳"' in text
    assert unserialize(text) == value


def test_round_trips_nested_lists():
    value = [{"a": [1, 2]}, {"b": {"c": "d"}}]
    assert unserialize(serialize(value)) == {0: {"a": {0: 1, 1: 2}}, 1: {"b": {"c": "d"}}}


@pytest.mark.parametrize(
    "text",
    [
        STORED[: len(STORED) // 2],  # truncated
        'O:8:"stdClass":1:{s:1:"a";i:1;}',  # an object: never instantiated
        "a:1:{i:0;r:1;}",  # a reference
        's:5:"abc";',  # length longer than the string
        "i:1;i:2;",  # trailing data
        "",
    ],
)
def test_anything_but_plain_complete_data_is_refused(text):
    with pytest.raises(PhpValueError):
        unserialize(text)
