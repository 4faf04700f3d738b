-- The chattiest properties: which (model, property) pairs send the most datapoints, and from
-- how many devices.
SELECT oem_model,
       property_name,
       count(*) AS events,
       count(DISTINCT dsn) AS devices
FROM datapoint
GROUP BY oem_model, property_name
ORDER BY events DESC, oem_model, property_name
LIMIT 10;
