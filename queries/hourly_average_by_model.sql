-- Hourly averages per model: for every numeric property, the mean value per model and hour.
SELECT oem_model,
       property_name,
       date_trunc('hour', created_at) AS hour,
       count(*) AS readings,
       round(avg(value_num), 3) AS average
FROM datapoint
WHERE value_num IS NOT NULL AND base_type IN ('integer', 'decimal', 'float')
GROUP BY oem_model, property_name, date_trunc('hour', created_at)
ORDER BY oem_model, property_name, hour;
