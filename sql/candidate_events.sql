-- Events seen up to the run's as-of time for every tracking number of an open order that
-- has no delivered (or expired) event by then, oldest first, grouped by tracking number
-- (the detector walks them in this order). Delivered parcels are left out: the detector
-- closes their open episodes.
WITH open_parcels AS (
  SELECT DISTINCT s.carrier, s.tracking_number
  FROM shipments s
  JOIN orders o ON o.order_id = s.order_id
  WHERE o.status = 'open'
    AND NOT EXISTS (
      SELECT 1 FROM tracking_events d
      WHERE d.carrier = s.carrier AND d.tracking_number = s.tracking_number
        AND d.status IN ('delivered', 'expired') AND d.occurred_at <= :as_of
    )
)
SELECT e.carrier, e.tracking_number, e.event_id, e.occurred_at, e.local_time, e.status,
       e.reason, e.city, e.region, e.postal_code, e.country, e.departed
FROM tracking_events e
JOIN open_parcels p ON p.carrier = e.carrier AND p.tracking_number = e.tracking_number
WHERE e.occurred_at <= :as_of
ORDER BY e.carrier, e.tracking_number, e.occurred_at, e.event_id
