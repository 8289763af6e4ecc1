-- Scans of the parcels delivered between the start of the lookback and the run's as-of time, up to their
-- delivery, oldest first per parcel (the ETA model replays each parcel's journey).
WITH delivered AS (
  SELECT carrier, tracking_number, MIN(occurred_at) AS delivered_at
  FROM tracking_events
  WHERE status = 'delivered' AND occurred_at <= :as_of AND occurred_at > :from_at
  GROUP BY carrier, tracking_number
)
SELECT e.carrier, e.tracking_number, e.event_id, e.occurred_at, e.local_time, e.status,
       e.reason, e.city, e.region, e.postal_code, e.country, e.departed
FROM tracking_events e
JOIN delivered d ON d.carrier = e.carrier AND d.tracking_number = e.tracking_number
WHERE e.occurred_at <= d.delivered_at
ORDER BY e.carrier, e.tracking_number, e.occurred_at, e.event_id
