-- Magento 2.4: one shipment row per tracking number (sales_shipment_track) of every order
-- that changed, was shipped, or got a tracking number since :since.
-- shipment_id is the track's entity_id. Carrier: carrier_code (ups, usps, fedex, dhl, or a
-- carrier module's code); "custom" tracks use their title ("Canada Post"), mapped to our
-- carrier codes by Oasis. Service: the method part of sales_order.shipping_method
-- ("ups_GND" -> "GND") when the track's carrier chose it. Origin: the shipping origin
-- postcode (shipping/origin/postcode, default scope); destination: the order's shipping
-- address.
WITH changed AS (
  SELECT entity_id AS order_entity_id FROM {prefix}sales_order WHERE updated_at >= :since
  UNION
  SELECT order_id FROM {prefix}sales_shipment WHERE updated_at >= :since
  UNION
  SELECT order_id FROM {prefix}sales_shipment_track WHERE created_at >= :since
)
SELECT CONCAT('', t.entity_id) AS shipment_id,
       so.increment_id AS order_id,
       CASE WHEN t.carrier_code IS NULL OR t.carrier_code = 'custom' THEN t.title
            ELSE t.carrier_code END AS carrier,
       t.track_number AS tracking_number,
       CASE WHEN so.shipping_method LIKE CONCAT(t.carrier_code, '\_%')
            THEN SUBSTRING(so.shipping_method FROM CHAR_LENGTH(t.carrier_code) + 2)
       END AS service,
       ss.created_at AS shipped_at,
       (SELECT MIN(origin.value) FROM {prefix}core_config_data origin
         WHERE origin.scope = 'default' AND origin.scope_id = 0
           AND origin.path = 'shipping/origin/postcode') AS origin_postal_code,
       sa.postcode AS destination_postal_code,
       sa.country_id AS destination_country
FROM changed c
JOIN {prefix}sales_order so ON so.entity_id = c.order_entity_id
JOIN {prefix}sales_shipment_track t ON t.order_id = so.entity_id
JOIN {prefix}sales_shipment ss ON ss.entity_id = t.parent_id
LEFT JOIN {prefix}sales_order_address sa
       ON sa.parent_id = so.entity_id AND sa.address_type = 'shipping'
