-- The status of each connectivity event and of the one before it on the same device, in
-- (event time, seq) order: an event whose status differs from the previous one starts a run,
-- and a device's current run started at its last such event.
SELECT dsn,
       last_value(oem_model ORDER BY t, seq) AS oem_model,
       last_value(status ORDER BY t, seq) AS status,
       max(CASE WHEN previous IS DISTINCT FROM status THEN t END) AS since,
       max(t) AS last_event_at
FROM (SELECT dsn, oem_model, status, seq, t,
             lag(status) OVER (PARTITION BY dsn ORDER BY t, seq) AS previous
      FROM (SELECT dsn, oem_model, status, seq, coalesce(event_time, received_at) AS t
            FROM connectivity))
GROUP BY dsn
