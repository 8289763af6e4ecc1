-- Delivered parcels (up to the run's as-of time) with the delivery's local date and the
-- newest carrier ETA we hold for them: the history that says how often each carrier's
-- stated ETA was right.
SELECT e.carrier, e.tracking_number, MIN(e.local_time) AS delivered_local,
       (SELECT st.earliest FROM eta_statements st
         WHERE st.carrier = e.carrier AND st.tracking_number = e.tracking_number
           AND st.stated_at <= :as_of AND st.latest IS NOT NULL
         ORDER BY st.stated_at DESC LIMIT 1) AS eta_earliest,
       (SELECT st.latest FROM eta_statements st
         WHERE st.carrier = e.carrier AND st.tracking_number = e.tracking_number
           AND st.stated_at <= :as_of AND st.latest IS NOT NULL
         ORDER BY st.stated_at DESC LIMIT 1) AS eta_latest
FROM tracking_events e
WHERE e.status = 'delivered' AND e.occurred_at <= :as_of
GROUP BY e.carrier, e.tracking_number
