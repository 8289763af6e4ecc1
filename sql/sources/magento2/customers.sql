-- Magento 2.4: customers changed since :since.
-- Registered accounts come from customer_entity, with the phone of their default shipping
-- address. A guest checkout has no account: each guest order gets its own customer
-- "guest-<increment_id>", named as on that order (two people may share one email address;
-- their orders are never merged). Locale and time zone: the store view's configuration.
-- email_opt_in / sms_opt_in are NULL: mapping.toml's defaults apply.
WITH store_config AS (
  SELECT s.store_id,
         COALESCE(lc_s.value, lc_w.value, lc_d.value) AS locale,
         COALESCE(tz_s.value, tz_w.value, tz_d.value) AS timezone
  FROM {prefix}store s
  LEFT JOIN {prefix}core_config_data lc_s
         ON lc_s.scope = 'stores' AND lc_s.scope_id = s.store_id
        AND lc_s.path = 'general/locale/code'
  LEFT JOIN {prefix}core_config_data lc_w
         ON lc_w.scope = 'websites' AND lc_w.scope_id = s.website_id
        AND lc_w.path = 'general/locale/code'
  LEFT JOIN {prefix}core_config_data lc_d
         ON lc_d.scope = 'default' AND lc_d.scope_id = 0 AND lc_d.path = 'general/locale/code'
  LEFT JOIN {prefix}core_config_data tz_s
         ON tz_s.scope = 'stores' AND tz_s.scope_id = s.store_id
        AND tz_s.path = 'general/locale/timezone'
  LEFT JOIN {prefix}core_config_data tz_w
         ON tz_w.scope = 'websites' AND tz_w.scope_id = s.website_id
        AND tz_w.path = 'general/locale/timezone'
  LEFT JOIN {prefix}core_config_data tz_d
         ON tz_d.scope = 'default' AND tz_d.scope_id = 0
        AND tz_d.path = 'general/locale/timezone'
)
SELECT CONCAT('', ce.entity_id) AS customer_id,
       ce.firstname AS first_name,
       ce.lastname AS last_name,
       ce.email AS email,
       ca.telephone AS phone,
       sc.locale AS locale,
       sc.timezone AS timezone,
       NULL AS email_opt_in,
       NULL AS sms_opt_in
FROM {prefix}customer_entity ce
LEFT JOIN {prefix}customer_address_entity ca ON ca.entity_id = ce.default_shipping
LEFT JOIN store_config sc ON sc.store_id = ce.store_id
WHERE ce.updated_at >= :since
   OR ca.updated_at >= :since
UNION ALL
SELECT CONCAT('guest-', so.increment_id),
       COALESCE(so.customer_firstname, ba.firstname, sa.firstname),
       COALESCE(so.customer_lastname, ba.lastname, sa.lastname),
       COALESCE(so.customer_email, ba.email, sa.email),
       COALESCE(sa.telephone, ba.telephone),
       sc.locale,
       sc.timezone,
       NULL,
       NULL
FROM {prefix}sales_order so
LEFT JOIN {prefix}sales_order_address ba
       ON ba.parent_id = so.entity_id AND ba.address_type = 'billing'
LEFT JOIN {prefix}sales_order_address sa
       ON sa.parent_id = so.entity_id AND sa.address_type = 'shipping'
LEFT JOIN store_config sc ON sc.store_id = so.store_id
WHERE so.customer_id IS NULL
  AND so.updated_at >= :since
