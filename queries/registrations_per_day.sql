-- Registrations and unregistrations per day (the partition date is the event's own day).
SELECT date AS day,
       sum(CASE WHEN registered THEN 1 ELSE 0 END) AS registrations,
       sum(CASE WHEN NOT registered THEN 1 ELSE 0 END) AS unregistrations
FROM registration
GROUP BY date
ORDER BY day;
