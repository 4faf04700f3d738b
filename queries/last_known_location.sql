-- Last known location per device.
SELECT dsn, lat, long, provider, located_at
FROM device_location
ORDER BY dsn;
