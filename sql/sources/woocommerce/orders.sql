-- WooCommerce (HPOS): orders changed since :since (date_updated_gmt moves on every status
-- or meta change, including a tracking number added by the Shipment Tracking extension).
-- Status: wc-cancelled, wc-failed and trash (a deleted order) -> cancelled; wc-refunded ->
-- refunded; wc-delivered (a custom status many tracking plugins add) -> delivered; every
-- other status (wc-pending, wc-processing, wc-on-hold, wc-completed = shipped, custom
-- ones) -> open. promised_by and channel are NULL: mapping.toml's promise_days and
-- default_channel apply.
SELECT CONCAT('', o.id) AS order_id,
       CASE WHEN o.customer_id > 0 THEN CONCAT('', o.customer_id)
            ELSE CONCAT('guest-', o.id) END AS customer_id,
       o.date_created_gmt AS placed_at,
       NULL AS promised_by,
       CASE o.status
         WHEN 'wc-cancelled' THEN 'cancelled'
         WHEN 'wc-failed' THEN 'cancelled'
         WHEN 'trash' THEN 'cancelled'
         WHEN 'wc-refunded' THEN 'refunded'
         WHEN 'wc-delivered' THEN 'delivered'
         ELSE 'open' END AS status,
       NULL AS channel
FROM {prefix}wc_orders o
WHERE o.type = 'shop_order'
  AND o.status NOT IN ('wc-checkout-draft', 'auto-draft')
  AND (o.date_updated_gmt >= :since
       OR (o.date_updated_gmt IS NULL AND o.date_created_gmt >= :since))
