-- Distinct notices sent to each customer by runs whose world time falls in
-- (since_at, as_of]: what the per-customer frequency cap counts.
SELECT d.customer_id, COUNT(DISTINCT d.notice_id) AS notices
FROM decisions d
JOIN runs r ON r.run_id = d.run_id
WHERE d.decision = 'sent' AND r.as_of > :since_at AND r.as_of <= :as_of
GROUP BY d.customer_id
