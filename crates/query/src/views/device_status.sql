WITH c AS (
  SELECT dsn, oem_model, status, seq, coalesce(event_time, received_at) AS t FROM connectivity
), latest AS (
  SELECT dsn,
         last_value(oem_model ORDER BY t, seq) AS oem_model,
         last_value(status ORDER BY t, seq) AS status,
         max(t) AS last_event_at
  FROM c GROUP BY dsn
), other AS (
  SELECT c.dsn, max(c.t) AS t
  FROM c JOIN latest l ON c.dsn = l.dsn AND c.status IS DISTINCT FROM l.status
  GROUP BY c.dsn
)
SELECT l.dsn, l.oem_model, l.status, min(c.t) AS since, l.last_event_at
FROM latest l
JOIN c ON c.dsn = l.dsn AND c.status IS NOT DISTINCT FROM l.status
LEFT JOIN other o ON o.dsn = l.dsn
WHERE o.t IS NULL OR c.t > o.t
GROUP BY l.dsn, l.oem_model, l.status, l.last_event_at
