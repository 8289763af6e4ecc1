-- Every delay episode so far (as of the run) on any label, current or replaced, of any parcel
-- of an order that has an open episode now: what tells a second delay of the same order from
-- one delay seen through two labels (a relabelled parcel keeps its shipment_id; its earlier
-- labels are in shipment_labels, label_seen_at says when we first saw each one).
WITH open_orders AS (
  SELECT DISTINCT s.order_id
  FROM delay_episodes e
  JOIN shipments s ON s.carrier = e.carrier AND s.tracking_number = e.tracking_number
  WHERE e.closed_at IS NULL AND e.opened_at <= :as_of
),
labels AS (
  SELECT s.order_id, s.shipment_id, s.carrier, s.tracking_number
  FROM shipments s JOIN open_orders x ON x.order_id = s.order_id
  UNION
  SELECT s.order_id, l.shipment_id, l.carrier, l.tracking_number
  FROM shipment_labels l
  JOIN shipments s ON s.shipment_id = l.shipment_id
  JOIN open_orders x ON x.order_id = s.order_id
)
SELECT b.order_id, b.shipment_id, b.carrier, b.tracking_number,
       sl.first_seen_at AS label_seen_at,
       e.episode_id, e.kind, e.cause, e.opened_at, e.closed_at, e.close_reason
FROM labels b
JOIN delay_episodes e ON e.carrier = b.carrier AND e.tracking_number = b.tracking_number
LEFT JOIN shipment_labels sl
  ON sl.shipment_id = b.shipment_id AND sl.carrier = b.carrier
 AND sl.tracking_number = b.tracking_number
WHERE e.opened_at <= :as_of
ORDER BY b.order_id, b.shipment_id, e.opened_at, e.episode_id
