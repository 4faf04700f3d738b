SELECT dsn, property_name,
       last_value(oem_model ORDER BY t, seq) AS oem_model,
       last_value(base_type ORDER BY t, seq) AS base_type,
       last_value(value_json ORDER BY t, seq) AS value_json,
       last_value(value_num ORDER BY t, seq) AS value_num,
       max(t) AS value_time
FROM (SELECT dsn, property_name, oem_model, base_type, value_json, value_num, seq,
             coalesce(created_at, updated_at, received_at) AS t
      FROM datapoint)
GROUP BY dsn, property_name
