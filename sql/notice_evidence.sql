-- For each notice of a run: whether every order it names belongs to its customer, whether
-- all its delay episodes are still open (a delay notice) or all closed (a follow-up), and when we last heard about its parcels (the
-- newest scan, or the newest carrier answer we stored, up to the run's as-of time).
SELECT t.notice_id,
       MIN(t.owned) AS owned,
       MIN(t.episode_open) AS episodes_open,
       MAX(t.episode_open) AS any_episode_open,
       MAX(t.last_polled) AS last_polled,
       MAX(t.last_event) AS last_event
FROM (
  SELECT np.notice_id,
         CASE WHEN o.customer_id = n.customer_id THEN 1 ELSE 0 END AS owned,
         CASE WHEN ep.episode_id IS NOT NULL AND ep.closed_at IS NULL THEN 1 ELSE 0 END
           AS episode_open,
         (SELECT MAX(st.stated_at) FROM eta_statements st
           WHERE st.carrier = ep.carrier AND st.tracking_number = ep.tracking_number
             AND st.stated_at <= :as_of) AS last_polled,
         (SELECT MAX(ev.occurred_at) FROM tracking_events ev
           WHERE ev.carrier = ep.carrier AND ev.tracking_number = ep.tracking_number
             AND ev.occurred_at <= :as_of) AS last_event
  FROM run_notices rn
  JOIN notices n ON n.notice_id = rn.notice_id
  JOIN notice_parcels np ON np.notice_id = rn.notice_id
  LEFT JOIN orders o ON o.order_id = np.order_id
  LEFT JOIN delay_episodes ep ON ep.episode_id = np.episode_id
  WHERE rn.run_id = :run_id
) t
GROUP BY t.notice_id
