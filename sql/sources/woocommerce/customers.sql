-- WooCommerce (HPOS): customers of orders changed since :since.
-- A registered customer (wp_wc_orders.customer_id = the WordPress user ID) is described by
-- the billing address of their latest order; a guest order (customer_id 0 or NULL) gets its
-- own customer "guest-<order id>" (two people may share one email address; their orders
-- are never merged). Locale: the user's "locale" meta, else the site language (WPLANG);
-- time zone: the site's timezone_string. Drafts (wc-checkout-draft, auto-draft) and refund
-- records (type shop_order_refund) are not orders.
SELECT CASE WHEN o.customer_id > 0 THEN CONCAT('', o.customer_id)
            ELSE CONCAT('guest-', o.id) END AS customer_id,
       a.first_name AS first_name,
       a.last_name AS last_name,
       COALESCE(a.email, o.billing_email) AS email,
       a.phone AS phone,
       COALESCE(NULLIF(um.meta_value, ''),
                (SELECT MIN(NULLIF(l.option_value, '')) FROM {prefix}options l
                  WHERE l.option_name = 'WPLANG')) AS locale,
       (SELECT MIN(NULLIF(z.option_value, '')) FROM {prefix}options z
         WHERE z.option_name = 'timezone_string') AS timezone,
       NULL AS email_opt_in,
       NULL AS sms_opt_in
FROM {prefix}wc_orders o
LEFT JOIN {prefix}wc_order_addresses a ON a.order_id = o.id AND a.address_type = 'billing'
LEFT JOIN {prefix}usermeta um ON um.user_id = o.customer_id AND um.meta_key = 'locale'
WHERE o.type = 'shop_order'
  AND o.status NOT IN ('wc-checkout-draft', 'auto-draft')
  AND (o.date_updated_gmt >= :since
       OR (o.date_updated_gmt IS NULL AND o.date_created_gmt >= :since))
  AND (o.customer_id IS NULL OR o.customer_id = 0
       OR o.id = (SELECT MAX(o2.id) FROM {prefix}wc_orders o2
                   WHERE o2.customer_id = o.customer_id AND o2.type = 'shop_order'
                     AND o2.status NOT IN ('wc-checkout-draft', 'auto-draft')))
