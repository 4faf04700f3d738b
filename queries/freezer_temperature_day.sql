-- One freezer's temperature over a day: every temp_c reading of one device on one UTC day.
-- `date` is the partition column, so only that day's folder is opened; the files are sorted
-- by dsn and property, so statistics and the page index skip the other devices.
SELECT created_at, value_num AS temp_c
FROM datapoint
WHERE date = '2026-11-24'
  AND dsn = 'AC000W000000001'
  AND property_name = 'temp_c'
ORDER BY created_at;
