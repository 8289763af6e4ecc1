-- Every (customer, order, parcel) touched by a delay episode open as of the run's time, with
-- the run's ETA for that episode and what targeting needs to decide about it.
-- * The join is on the shipment's own (carrier, tracking number): a tracking number shared by
--   several orders yields one row per order, and each row carries that order's own customer,
--   so a customer is only ever told about their own order.
-- * A split order yields a row only for its delayed parcels; parcel_lines counts the order's
--   lines in that parcel (shipped_lines: in any parcel), so a notice lists only those items.
-- * order_status, need_by and order_value come from the order system as loaded.
-- * carrier_eta_stated_at / carrier_eta_latest: the carrier's newest ETA statement for the
--   parcel as of the run (latest empty with a statement: the carrier withdrew its ETA).
-- * carrier_eta_first: the first dated ETA the carrier gave us for the parcel (the schedule
--   before any revision).
-- * carrier_eta_day_since: when the carrier first stated the day of its newest statement (the
--   first statement naming that day), so a re-plan can be dated against the delay.
-- * last_scan_status / last_scan_at / last_scan_postal_code: the parcel's newest scan as of
--   the run (its postal code tells a scan at the destination's delivery area).
-- * status_before_delay: the status of the parcel's newest scan before the delay began.
SELECT c.customer_id, c.email, c.phone, c.locale, c.timezone,
       c.email_opt_in, c.sms_opt_in,
       o.order_id, o.status AS order_status, o.promised_by, o.promised_by_utc,
       o.need_by, o.order_value,
       s.shipment_id, s.carrier, s.tracking_number,
       s.destination_postal_code, s.destination_country,
       e.episode_id, e.kind, e.cause, e.opened_at AS episode_opened_at,
       e.updated_at AS episode_updated_at,
       p.earliest AS eta_earliest, p.latest AS eta_latest, p.most_likely AS eta_most_likely,
       p.confidence AS eta_confidence, p.method AS eta_method, p.next_update_by,
       p.p_late AS eta_p_late,
       (SELECT MAX(st.stated_at) FROM eta_statements st
         WHERE st.carrier = s.carrier AND st.tracking_number = s.tracking_number
           AND st.stated_at <= :as_of) AS carrier_eta_stated_at,
       (SELECT st.latest FROM eta_statements st
         WHERE st.carrier = s.carrier AND st.tracking_number = s.tracking_number
           AND st.stated_at <= :as_of
         ORDER BY st.stated_at DESC, st.statement_id DESC LIMIT 1) AS carrier_eta_latest,
       (SELECT st.latest FROM eta_statements st
         WHERE st.carrier = s.carrier AND st.tracking_number = s.tracking_number
           AND st.stated_at <= :as_of AND st.latest IS NOT NULL AND st.latest <> ''
         ORDER BY st.stated_at, st.statement_id LIMIT 1) AS carrier_eta_first,
       (SELECT MIN(st.stated_at) FROM eta_statements st
         WHERE st.carrier = s.carrier AND st.tracking_number = s.tracking_number
           AND st.stated_at <= :as_of
           AND substr(st.latest, 1, 10) = (
             SELECT substr(nw.latest, 1, 10) FROM eta_statements nw
              WHERE nw.carrier = s.carrier AND nw.tracking_number = s.tracking_number
                AND nw.stated_at <= :as_of
              ORDER BY nw.stated_at DESC, nw.statement_id DESC LIMIT 1)) AS carrier_eta_day_since,
       (SELECT ev.status FROM tracking_events ev
         WHERE ev.carrier = s.carrier AND ev.tracking_number = s.tracking_number
           AND ev.occurred_at <= :as_of
         ORDER BY ev.occurred_at DESC, ev.event_id DESC LIMIT 1) AS last_scan_status,
       (SELECT ev.postal_code FROM tracking_events ev
         WHERE ev.carrier = s.carrier AND ev.tracking_number = s.tracking_number
           AND ev.occurred_at <= :as_of
         ORDER BY ev.occurred_at DESC, ev.event_id DESC LIMIT 1) AS last_scan_postal_code,
       (SELECT MAX(ev.occurred_at) FROM tracking_events ev
         WHERE ev.carrier = s.carrier AND ev.tracking_number = s.tracking_number
           AND ev.occurred_at <= :as_of) AS last_scan_at,
       (SELECT ev.status FROM tracking_events ev
         WHERE ev.carrier = s.carrier AND ev.tracking_number = s.tracking_number
           AND ev.occurred_at < e.opened_at
         ORDER BY ev.occurred_at DESC, ev.event_id DESC LIMIT 1) AS status_before_delay,
       (SELECT COUNT(*) FROM order_lines ol
         WHERE ol.order_id = o.order_id AND ol.shipment_id = s.shipment_id) AS parcel_lines,
       (SELECT COUNT(*) FROM order_lines ol
         WHERE ol.order_id = o.order_id AND ol.shipment_id IS NOT NULL) AS shipped_lines
FROM delay_episodes e
JOIN shipments s ON s.carrier = e.carrier AND s.tracking_number = e.tracking_number
JOIN orders o ON o.order_id = s.order_id
JOIN customers c ON c.customer_id = o.customer_id
LEFT JOIN eta_predictions p ON p.episode_id = e.episode_id AND p.run_id = :run_id
WHERE e.closed_at IS NULL AND e.opened_at <= :as_of
ORDER BY c.customer_id, o.order_id, s.shipment_id
