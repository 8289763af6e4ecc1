-- The ETA model's history: every parcel delivered between the start of the lookback and the run's as-of time,
-- with its lane (service, origin, destination), the customer's zone and when it was
-- delivered. sql/lane_history_events.sql and sql/lane_history_statements.sql give its scans
-- and the carrier's ETA statements up to delivery.
WITH delivered AS (
  SELECT carrier, tracking_number, MIN(occurred_at) AS delivered_at
  FROM tracking_events
  WHERE status = 'delivered' AND occurred_at <= :as_of AND occurred_at > :from_at
  GROUP BY carrier, tracking_number
)
SELECT d.carrier, d.tracking_number, MIN(d.delivered_at) AS delivered_at,
       MIN(s.service) AS service, MIN(s.shipped_at) AS shipped_at,
       MIN(s.origin_postal_code) AS origin_postal_code,
       MIN(s.destination_postal_code) AS destination_postal_code,
       MIN(s.destination_country) AS destination_country,
       MIN(c.timezone) AS timezone
FROM delivered d
JOIN shipments s ON s.carrier = d.carrier AND s.tracking_number = d.tracking_number
JOIN orders o ON o.order_id = s.order_id
JOIN customers c ON c.customer_id = o.customer_id
GROUP BY d.carrier, d.tracking_number
ORDER BY d.carrier, d.tracking_number
