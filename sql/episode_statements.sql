-- Every carrier ETA statement made up to the run's as-of time about a parcel with a delay
-- episode open then, oldest first (the ETA model replays what these parcels showed so far).
SELECT st.carrier, st.tracking_number, st.stated_at, st.earliest, st.latest
FROM eta_statements st
WHERE st.stated_at <= :as_of
  AND EXISTS (
    SELECT 1 FROM delay_episodes d
    WHERE d.carrier = st.carrier AND d.tracking_number = st.tracking_number
      AND d.closed_at IS NULL AND d.opened_at <= :as_of
  )
ORDER BY st.carrier, st.tracking_number, st.stated_at
