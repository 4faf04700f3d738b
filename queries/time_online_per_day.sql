-- Time online per device per day: the hours between each Online event and the device's next
-- connectivity event, counted on the day the Online period started. A device still online has
-- an open period with no end yet; it is not counted.
WITH events AS (
  SELECT dsn, status, coalesce(event_time, received_at) AS t,
         lead(coalesce(event_time, received_at))
           OVER (PARTITION BY dsn ORDER BY coalesce(event_time, received_at), seq) AS next_t
  FROM connectivity
)
SELECT dsn,
       CAST(t AS DATE) AS day,
       round(sum(date_part('epoch', next_t) - date_part('epoch', t)) / 3600.0, 2) AS hours_online
FROM events
WHERE status = 'Online' AND next_t IS NOT NULL
GROUP BY dsn, CAST(t AS DATE)
ORDER BY dsn, day;
