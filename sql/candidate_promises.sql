-- The earliest promise and latest carrier ETA statement (as of the run) per tracking number
-- of an open order.
SELECT s.carrier, s.tracking_number, MIN(o.promised_by_utc) AS promised_by_utc,
       MIN(s.shipped_at) AS shipped_at,
       (SELECT st.earliest FROM eta_statements st
         WHERE st.carrier = s.carrier AND st.tracking_number = s.tracking_number
           AND st.stated_at <= :as_of
         ORDER BY st.stated_at DESC LIMIT 1) AS eta_earliest,
       (SELECT st.latest FROM eta_statements st
         WHERE st.carrier = s.carrier AND st.tracking_number = s.tracking_number
           AND st.stated_at <= :as_of
         ORDER BY st.stated_at DESC LIMIT 1) AS eta_latest
FROM shipments s
JOIN orders o ON o.order_id = s.order_id
WHERE o.status = 'open'
GROUP BY s.carrier, s.tracking_number
