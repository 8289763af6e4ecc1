-- Events seen up to the run's as-of time for every tracking number of an open order, oldest first,
-- grouped by tracking number (the detector walks them in this order).
SELECT e.carrier, e.tracking_number, e.event_id, e.occurred_at, e.status, e.reason
FROM tracking_events e
WHERE e.occurred_at <= :as_of
  AND EXISTS (
    SELECT 1 FROM shipments s JOIN orders o ON o.order_id = s.order_id
    WHERE s.carrier = e.carrier AND s.tracking_number = e.tracking_number
      AND o.status = 'open'
  )
ORDER BY e.carrier, e.tracking_number, e.occurred_at, e.event_id
