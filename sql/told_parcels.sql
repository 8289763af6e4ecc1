-- Parcels a customer was told about (a notice sent in some channel) whose delay episode
-- closed in (since_at, as_of]: candidates for a "delivered after all" / "resolved" follow-up.
SELECT DISTINCT n.customer_id, np.order_id, np.shipment_id, np.episode_id,
       e.cause, e.closed_at, e.close_reason, o.status AS order_status
FROM delay_episodes e
JOIN notice_parcels np ON np.episode_id = e.episode_id
JOIN notices n ON n.notice_id = np.notice_id
JOIN orders o ON o.order_id = np.order_id
WHERE e.closed_at > :since_at AND e.closed_at <= :as_of
  AND EXISTS (SELECT 1 FROM decisions d
              WHERE d.notice_id = n.notice_id AND d.decision = 'sent')
ORDER BY n.customer_id, np.order_id, np.shipment_id
