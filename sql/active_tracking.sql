-- Tracking numbers worth asking the carriers about as of the run: shipped parcels of open
-- orders that have no delivered (or expired) event yet.
SELECT DISTINCT s.carrier, s.tracking_number
FROM shipments s
JOIN orders o ON o.order_id = s.order_id
WHERE o.status = 'open'
  AND NOT EXISTS (
    SELECT 1 FROM tracking_events e
    WHERE e.carrier = s.carrier
      AND e.tracking_number = s.tracking_number
      AND e.status IN ('delivered', 'expired')
      AND e.occurred_at <= :as_of
  )
ORDER BY s.carrier, s.tracking_number
