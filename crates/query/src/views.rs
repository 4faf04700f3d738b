//! The twin views every user needs, defined in SQL over the lake tables.
//!
//! "Latest" means the greatest event time (the first non-null of the table's event-time columns,
//! else `received_at`), ties broken by `seq`, so a replayed or late event lands where its own
//! timestamp puts it, not where it arrived.

/// `(name, SQL)` of every view, in creation order.
pub(crate) const VIEWS: [(&str, &str); 3] = [
    ("twin_latest", TWIN_LATEST),
    ("device_status", DEVICE_STATUS),
    ("device_location", DEVICE_LOCATION),
];

/// The latest value of each property of each device, with its time and numeric value.
const TWIN_LATEST: &str = "
SELECT dsn, property_name,
       last_value(oem_model ORDER BY t, seq) AS oem_model,
       last_value(base_type ORDER BY t, seq) AS base_type,
       last_value(value_json ORDER BY t, seq) AS value_json,
       last_value(value_num ORDER BY t, seq) AS value_num,
       max(t) AS at
FROM (SELECT dsn, property_name, oem_model, base_type, value_json, value_num, seq,
             coalesce(created_at, updated_at, received_at) AS t
      FROM datapoint)
GROUP BY dsn, property_name";

/// Each device's latest connectivity state, since when it has been in it (the first event of
/// the current run of that state), and when it was last heard of.
const DEVICE_STATUS: &str = "
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
GROUP BY l.dsn, l.oem_model, l.status, l.last_event_at";

/// Each device's latest reported position.
const DEVICE_LOCATION: &str = "
SELECT dsn,
       last_value(lat ORDER BY t, seq) AS lat,
       last_value(long ORDER BY t, seq) AS long,
       last_value(ip ORDER BY t, seq) AS ip,
       last_value(provider ORDER BY t, seq) AS provider,
       max(t) AS located_at
FROM (SELECT dsn, lat, long, ip, provider, seq, coalesce(created_at, received_at) AS t
      FROM location)
GROUP BY dsn";
