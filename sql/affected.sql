-- Every (customer, order, shipment) touched by a delay episode open as of the run's time, with
-- the run's ETA for that episode. Joins on the shipment's own (carrier, tracking number),
-- so a tracking number shared by two orders yields one row per order and each customer
-- only ever sees their own order.
SELECT c.customer_id, c.first_name, c.email, c.phone, c.locale, c.timezone,
       c.email_opt_in, c.sms_opt_in,
       o.order_id, o.status AS order_status, o.promised_by, o.promised_by_utc,
       s.shipment_id, s.carrier, s.tracking_number,
       e.episode_id, e.kind, e.cause, e.updated_at AS episode_updated_at,
       p.earliest AS eta_earliest, p.latest AS eta_latest, p.most_likely AS eta_most_likely,
       p.confidence AS eta_confidence, p.method AS eta_method, p.next_update_by
FROM delay_episodes e
JOIN shipments s ON s.carrier = e.carrier AND s.tracking_number = e.tracking_number
JOIN orders o ON o.order_id = s.order_id
JOIN customers c ON c.customer_id = o.customer_id
LEFT JOIN eta_predictions p ON p.episode_id = e.episode_id AND p.run_id = :run_id
WHERE e.closed_at IS NULL AND e.opened_at <= :as_of
ORDER BY c.customer_id, o.order_id, s.shipment_id
