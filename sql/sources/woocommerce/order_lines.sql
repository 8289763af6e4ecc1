-- WooCommerce (HPOS): the product lines (order_item_type line_item) of orders changed since
-- :since. SKU from wc_product_meta_lookup (the variation's, else the product's); quantity
-- from the _qty item meta.
-- shipment_id: the line's own tracking number (item meta, "<order id>-<tracking number>");
-- else, when the order has exactly one Shipment Tracking item and no line names its own
-- tracking number, that item ("<order id>-st1"): a single parcel holds every line. With
-- several tracking items and no per-line information the lines stay unassigned, because
-- WooCommerce does not record which parcel holds which item.
SELECT CONCAT('', o.id) AS order_id,
       CONCAT('', i.order_item_id) AS line_id,
       pl.sku AS sku,
       i.order_item_name AS title,
       qty.meta_value AS quantity,
       CASE
         WHEN tn.meta_value IS NOT NULL AND tn.meta_value <> ''
           THEN CONCAT(o.id, '-', tn.meta_value)
         WHEN st.meta_value LIKE 'a:1:{%'
              AND NOT EXISTS (
                SELECT 1
                FROM {prefix}woocommerce_order_items i2
                JOIN {prefix}woocommerce_order_itemmeta tn2
                  ON tn2.order_item_id = i2.order_item_id
                 AND tn2.meta_key = :item_tracking_number_key
                WHERE i2.order_id = o.id AND tn2.meta_value <> '')
           THEN CONCAT(o.id, '-st1')
       END AS shipment_id
FROM {prefix}wc_orders o
JOIN {prefix}woocommerce_order_items i
  ON i.order_id = o.id AND i.order_item_type = 'line_item'
LEFT JOIN {prefix}woocommerce_order_itemmeta qty
  ON qty.order_item_id = i.order_item_id AND qty.meta_key = '_qty'
LEFT JOIN {prefix}woocommerce_order_itemmeta pid
  ON pid.order_item_id = i.order_item_id AND pid.meta_key = '_product_id'
LEFT JOIN {prefix}woocommerce_order_itemmeta vid
  ON vid.order_item_id = i.order_item_id AND vid.meta_key = '_variation_id'
LEFT JOIN {prefix}wc_product_meta_lookup pl
  ON pl.product_id = CASE WHEN vid.meta_value IS NOT NULL AND vid.meta_value <> '0'
                          THEN vid.meta_value ELSE pid.meta_value END
LEFT JOIN {prefix}woocommerce_order_itemmeta tn
  ON tn.order_item_id = i.order_item_id AND tn.meta_key = :item_tracking_number_key
LEFT JOIN {prefix}wc_orders_meta st
  ON st.order_id = o.id AND st.meta_key = '_wc_shipment_tracking_items'
WHERE o.type = 'shop_order'
  AND o.status NOT IN ('wc-checkout-draft', 'auto-draft')
  AND (o.date_updated_gmt >= :since
       OR (o.date_updated_gmt IS NULL AND o.date_created_gmt >= :since))
