-- Events seen up to the run's as-of time of every parcel with a delay episode open then,
-- oldest first, grouped by tracking number (the ETA stage reads each parcel's story).
SELECT e.carrier, e.tracking_number, e.event_id, e.occurred_at, e.local_time, e.status,
       e.reason, e.city, e.region, e.postal_code, e.country, e.departed
FROM tracking_events e
WHERE e.occurred_at <= :as_of
  AND EXISTS (
    SELECT 1 FROM delay_episodes d
    WHERE d.carrier = e.carrier AND d.tracking_number = e.tracking_number
      AND d.closed_at IS NULL AND d.opened_at <= :as_of
  )
ORDER BY e.carrier, e.tracking_number, e.occurred_at, e.event_id
