-- WooCommerce (HPOS): tracking numbers kept on order line items (item meta
-- :item_tracking_number_key / :item_tracking_provider_key, see mapping.toml), one shipment
-- per (order, tracking number): shipment_id "<order id>-<tracking number>".
-- Origin: the store's postcode (woocommerce_store_postcode); destination: the order's
-- shipping address, else its billing address.
SELECT CONCAT(o.id, '-', tn.meta_value) AS shipment_id,
       CONCAT('', o.id) AS order_id,
       MAX(tp.meta_value) AS carrier,
       tn.meta_value AS tracking_number,
       NULL AS service,
       NULL AS shipped_at,
       MAX(origin.option_value) AS origin_postal_code,
       MAX(COALESCE(NULLIF(sa.postcode, ''), ba.postcode)) AS destination_postal_code,
       MAX(COALESCE(NULLIF(sa.country, ''), ba.country)) AS destination_country
FROM {prefix}wc_orders o
JOIN {prefix}woocommerce_order_items i
  ON i.order_id = o.id AND i.order_item_type = 'line_item'
JOIN {prefix}woocommerce_order_itemmeta tn
  ON tn.order_item_id = i.order_item_id AND tn.meta_key = :item_tracking_number_key
 AND tn.meta_value <> ''
LEFT JOIN {prefix}woocommerce_order_itemmeta tp
  ON tp.order_item_id = i.order_item_id AND tp.meta_key = :item_tracking_provider_key
LEFT JOIN {prefix}wc_order_addresses sa ON sa.order_id = o.id AND sa.address_type = 'shipping'
LEFT JOIN {prefix}wc_order_addresses ba ON ba.order_id = o.id AND ba.address_type = 'billing'
LEFT JOIN {prefix}options origin ON origin.option_name = 'woocommerce_store_postcode'
WHERE o.type = 'shop_order'
  AND o.status NOT IN ('wc-checkout-draft', 'auto-draft')
  AND (o.date_updated_gmt >= :since
       OR (o.date_updated_gmt IS NULL AND o.date_created_gmt >= :since))
GROUP BY o.id, tn.meta_value
