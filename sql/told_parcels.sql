-- Parcels a customer was told about (a notice sent in some channel) whose delay episode
-- closed in (since_at, as_of]: candidates for a "delivered after all" / "resolved" follow-up.
-- delivered_at: the carrier's first delivery scan up to as_of (an episode closed as resolved
-- may have been delivered since); carrier_earliest/latest: the carrier's newest ETA statement
-- up to as_of (days as the carrier gave them; both empty when it withdrew its date).
-- notice_id: the sent notice that told it (a parcel told several times has a row per notice;
-- the caller keeps parcels told late in a delay notice: not those only in an attention
-- notice, nor a delay notice's problem parcels, told apart as not late).
SELECT DISTINCT n.customer_id, np.order_id, np.shipment_id, np.episode_id, n.notice_id,
       e.cause, e.closed_at, e.close_reason, o.status AS order_status, o.promised_by,
       (SELECT MIN(ev.occurred_at) FROM tracking_events ev
         WHERE ev.carrier = e.carrier AND ev.tracking_number = e.tracking_number
           AND ev.status = 'delivered' AND ev.occurred_at <= :as_of) AS delivered_at,
       (SELECT st.earliest FROM eta_statements st
         WHERE st.carrier = e.carrier AND st.tracking_number = e.tracking_number
           AND st.stated_at <= :as_of
         ORDER BY st.stated_at DESC, st.statement_id DESC LIMIT 1) AS carrier_earliest,
       (SELECT st.latest FROM eta_statements st
         WHERE st.carrier = e.carrier AND st.tracking_number = e.tracking_number
           AND st.stated_at <= :as_of
         ORDER BY st.stated_at DESC, st.statement_id DESC LIMIT 1) AS carrier_latest
FROM delay_episodes e
JOIN notice_parcels np ON np.episode_id = e.episode_id
JOIN notices n ON n.notice_id = np.notice_id
JOIN orders o ON o.order_id = np.order_id
WHERE e.closed_at > :since_at AND e.closed_at <= :as_of
  AND EXISTS (SELECT 1 FROM decisions d
              WHERE d.notice_id = n.notice_id AND d.decision = 'sent')
ORDER BY n.customer_id, np.order_id, np.shipment_id
