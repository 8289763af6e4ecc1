-- oasis: expand php_tracking_items
-- WooCommerce (HPOS): the Shipment Tracking extension's tracking numbers. The order meta
-- _wc_shipment_tracking_items (wp_wc_orders_meta) holds a PHP-serialized array of items
-- (tracking_provider or custom_tracking_provider, tracking_number, date_shipped as a Unix
-- time); the php_tracking_items expander turns each item into one shipment
-- "<order id>-st<n>" (n = its position), carrier from the provider, shipped_at from
-- date_shipped. The columns below are copied to every item.
SELECT CONCAT('', o.id) AS order_id,
       st.meta_value AS tracking_items,
       NULL AS service,
       origin.option_value AS origin_postal_code,
       COALESCE(NULLIF(sa.postcode, ''), ba.postcode) AS destination_postal_code,
       COALESCE(NULLIF(sa.country, ''), ba.country) AS destination_country
FROM {prefix}wc_orders o
JOIN {prefix}wc_orders_meta st
  ON st.order_id = o.id AND st.meta_key = '_wc_shipment_tracking_items'
LEFT JOIN {prefix}wc_order_addresses sa ON sa.order_id = o.id AND sa.address_type = 'shipping'
LEFT JOIN {prefix}wc_order_addresses ba ON ba.order_id = o.id AND ba.address_type = 'billing'
LEFT JOIN {prefix}options origin ON origin.option_name = 'woocommerce_store_postcode'
WHERE o.type = 'shop_order'
  AND o.status NOT IN ('wc-checkout-draft', 'auto-draft')
  AND (o.date_updated_gmt >= :since
       OR (o.date_updated_gmt IS NULL AND o.date_created_gmt >= :since))
