-- The carriers' ETA statements about parcels delivered between the start of the lookback and the run's as-of
-- time, made before the delivery, oldest first per parcel.
WITH delivered AS (
  SELECT carrier, tracking_number, MIN(occurred_at) AS delivered_at
  FROM tracking_events
  WHERE status = 'delivered' AND occurred_at <= :as_of AND occurred_at > :from_at
  GROUP BY carrier, tracking_number
)
SELECT st.carrier, st.tracking_number, st.statement_id, st.stated_at, st.earliest, st.latest
FROM eta_statements st
JOIN delivered d ON d.carrier = st.carrier AND d.tracking_number = st.tracking_number
WHERE st.stated_at < d.delivered_at
ORDER BY st.carrier, st.tracking_number, st.stated_at, st.statement_id
