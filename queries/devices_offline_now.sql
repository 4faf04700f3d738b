-- Devices offline now, and since when (the start of their current offline run).
SELECT dsn, oem_model, since, last_event_at
FROM device_status
WHERE status = 'Offline'
ORDER BY since, dsn;
