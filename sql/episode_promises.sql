-- Per parcel with a delay episode open as of the run: the earliest promise among its open
-- orders, its lane, the customer's zone and the carrier's first dated and newest ETA
-- statements.
WITH newest AS (
  SELECT st.carrier, st.tracking_number, st.statement_id, st.stated_at, st.earliest, st.latest,
         ROW_NUMBER() OVER (PARTITION BY st.carrier, st.tracking_number
                            ORDER BY st.stated_at DESC) AS rn
  FROM eta_statements st
  WHERE st.stated_at <= :as_of
), first_dated AS (
  SELECT st.carrier, st.tracking_number, st.latest,
         ROW_NUMBER() OVER (PARTITION BY st.carrier, st.tracking_number
                            ORDER BY st.stated_at) AS rn
  FROM eta_statements st
  WHERE st.stated_at <= :as_of AND st.latest IS NOT NULL
), parcels AS (
  SELECT s.carrier, s.tracking_number, MIN(o.promised_by_utc) AS promised_by_utc,
         MIN(s.shipped_at) AS shipped_at, MIN(s.service) AS service,
         MIN(s.origin_postal_code) AS origin_postal_code,
         MIN(s.destination_postal_code) AS destination_postal_code,
         MIN(s.destination_country) AS destination_country,
         MIN(c.timezone) AS timezone
  FROM shipments s
  JOIN orders o ON o.order_id = s.order_id
  JOIN customers c ON c.customer_id = o.customer_id
  WHERE o.status = 'open'
    AND EXISTS (
      SELECT 1 FROM delay_episodes d
      WHERE d.carrier = s.carrier AND d.tracking_number = s.tracking_number
        AND d.closed_at IS NULL AND d.opened_at <= :as_of
    )
  GROUP BY s.carrier, s.tracking_number
)
SELECT p.carrier, p.tracking_number, p.promised_by_utc, p.shipped_at, p.service,
       p.origin_postal_code, p.destination_postal_code, p.destination_country, p.timezone,
       n.statement_id AS eta_statement_id, n.stated_at AS eta_stated_at,
       n.earliest AS eta_earliest, n.latest AS eta_latest, f.latest AS first_eta_latest
FROM parcels p
LEFT JOIN newest n
  ON n.carrier = p.carrier AND n.tracking_number = p.tracking_number AND n.rn = 1
LEFT JOIN first_dated f
  ON f.carrier = p.carrier AND f.tracking_number = p.tracking_number AND f.rn = 1
