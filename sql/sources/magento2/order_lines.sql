-- Magento 2.4: the lines of every order that changed, was shipped, or got a tracking
-- number since :since. Child items of configurable and bundle products are left out: the
-- parent line is what the customer ordered.
-- shipment_id: the first tracking number of the latest shipment holding the item
-- (sales_shipment_item.order_item_id); empty while the item is unshipped. A Magento
-- shipment with several tracking numbers does not say which box holds which item, so its
-- items are named under its first tracking number.
WITH changed AS (
  SELECT entity_id AS order_entity_id FROM {prefix}sales_order WHERE updated_at >= :since
  UNION
  SELECT order_id FROM {prefix}sales_shipment WHERE updated_at >= :since
  UNION
  SELECT order_id FROM {prefix}sales_shipment_track WHERE created_at >= :since
)
SELECT so.increment_id AS order_id,
       CONCAT('', soi.item_id) AS line_id,
       soi.sku AS sku,
       soi.name AS title,
       soi.qty_ordered AS quantity,
       (SELECT CONCAT('', MIN(t.entity_id))
          FROM {prefix}sales_shipment_track t
         WHERE t.order_id = so.entity_id
           AND t.parent_id = (SELECT MAX(ss.entity_id)
                                FROM {prefix}sales_shipment ss
                                JOIN {prefix}sales_shipment_item ssi
                                  ON ssi.parent_id = ss.entity_id
                               WHERE ss.order_id = so.entity_id
                                 AND ssi.order_item_id = soi.item_id)) AS shipment_id
FROM changed c
JOIN {prefix}sales_order so ON so.entity_id = c.order_entity_id
JOIN {prefix}sales_order_item soi ON soi.order_id = so.entity_id
WHERE soi.parent_item_id IS NULL
