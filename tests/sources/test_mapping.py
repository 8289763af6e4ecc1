"""Mapping folders: what is read, and the clear errors for what is wrong."""

from __future__ import annotations

import shutil

import pytest

from notify.sources.mapping import SOURCES_DIR, MappingError, load_mapping

GOOD = {
    "customers.sql": "SELECT 1 AS customer_id FROM t WHERE u >= :since",
    "orders.sql": "SELECT 1 AS order_id FROM t WHERE u >= :since",
    "order_lines.sql": "SELECT 1 AS order_id FROM t WHERE u >= :since",
    "shipments.sql": "SELECT 1 AS shipment_id FROM {prefix}t WHERE u >= :since",
}


def _folder(tmp_path, files=GOOD, toml=None):
    folder = tmp_path / "myshop"
    folder.mkdir()
    for name, sql in files.items():
        (folder / name).write_text(sql)
    if toml is not None:
        (folder / "mapping.toml").write_text(toml)
    return folder


def test_shipped_mappings_load_with_their_queries_in_load_order():
    magento = load_mapping("magento2")
    assert [q.label for q in magento.queries] == [
        "customers.sql", "orders.sql", "shipments.sql", "order_lines.sql"
    ]  # fmt: skip
    woo = load_mapping("woocommerce")
    assert [q.label for q in woo.queries if q.table == "shipments"] == [
        "shipments.item_meta.sql", "shipments.tracking_extension.sql"
    ]  # fmt: skip
    assert woo.for_table("shipments")[1].expand == "php_tracking_items"
    assert woo.options["table_prefix"] == "wp_"
    assert "wp_wc_orders" in woo.for_table("orders")[0].sql
    assert "{prefix}" not in woo.for_table("orders")[0].sql
    assert woo.carriers["fedex-sameday"] == "fedex"
    assert "Magento Open Source / Adobe Commerce 2.4" in magento.description


def test_a_folder_of_sql_files_is_a_mapping_without_any_toml(tmp_path):
    mapping = load_mapping(str(_folder(tmp_path)))
    assert mapping.name == "myshop"
    assert mapping.options["promise_days"] == 7  # built-in defaults
    assert mapping.options["email_opt_in"] is True and mapping.options["sms_opt_in"] is False


def test_options_come_from_toml_and_are_overridden_by_settings(tmp_path):
    folder = _folder(tmp_path, toml='[options]\npromise_days = 3\ntable_prefix = "s_"\n')
    mapping = load_mapping(str(folder), {"promise_days": 5})
    assert mapping.options["promise_days"] == 5
    assert "FROM s_t" in mapping.for_table("shipments")[0].sql
    assert mapping.digest != load_mapping(str(folder)).digest  # an option change shows


def test_a_changed_query_changes_the_digest(tmp_path):
    folder = _folder(tmp_path)
    before = load_mapping(str(folder)).digest
    (folder / "orders.sql").write_text("SELECT 2 AS order_id FROM t WHERE u >= :since")
    assert load_mapping(str(folder)).digest != before


@pytest.mark.parametrize(
    ("files", "toml", "overrides", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "shipments.sql"}, None, {},
         "no query for shipments; add shipments.sql"),
        ({**GOOD, "orders.sql": "SELECT 1 AS order_id FROM t"}, None, {},
         "never uses :since"),
        ({**GOOD, "orders.sql": "SELECT 1 FROM t WHERE u >= :since AND x = :store"}, None, {},
         ":store is neither :since nor an option"),
        ({**GOOD, "orders.sql": "-- oasis: explode x\nSELECT 1 WHERE u >= :since"}, None, {},
         "unknown directive"),
        ({**GOOD, "orders.sql": "-- oasis: expand nope\nSELECT 1 WHERE u >= :since"}, None, {},
         "no expander 'nope'"),
        ({**GOOD, "invoices.sql": "SELECT 1 WHERE u >= :since"}, None, {},
         "not a mapping query name"),
        (GOOD, None, {"promis_days": 3}, "promis_days: not an option"),
        (GOOD, None, {"table_prefix": "wp_; DROP TABLE x"}, "table_prefix"),
        (GOOD, None, {"promise_days": "soon"}, "not a whole number of days"),
        (GOOD, "[options\n", {}, "not valid TOML"),
    ],
)  # fmt: skip
def test_what_is_wrong_is_named(tmp_path, files, toml, overrides, message):
    folder = _folder(tmp_path, files, toml)
    with pytest.raises(MappingError, match=message.replace("(", r"\(")):
        load_mapping(str(folder), overrides)


def test_an_unknown_mapping_lists_the_shipped_ones():
    with pytest.raises(MappingError, match="magento2, woocommerce"):
        load_mapping("shopify")


def test_a_copied_shipped_mapping_is_a_custom_one(tmp_path):
    copy = tmp_path / "mymagento"
    shutil.copytree(SOURCES_DIR / "magento2", copy)
    mapping = load_mapping(str(copy), {"table_prefix": "m2_"})
    assert mapping.name == "mymagento"
    assert "FROM m2_sales_order so" in mapping.for_table("orders")[0].sql
