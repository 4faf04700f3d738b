SELECT dsn,
       last_value(lat ORDER BY t, seq) AS lat,
       last_value(long ORDER BY t, seq) AS long,
       last_value(ip ORDER BY t, seq) AS ip,
       last_value(provider ORDER BY t, seq) AS provider,
       max(t) AS located_at
FROM (SELECT dsn, lat, long, ip, provider, seq, coalesce(created_at, received_at) AS t
      FROM location)
GROUP BY dsn
