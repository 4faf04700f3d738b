-- Datapoint-ack failure rate by property: an ack fails unless its status is 2xx (a missing
-- status counts as a failure).
SELECT property_name,
       count(*) AS acks,
       sum(CASE WHEN ack_status BETWEEN 200 AND 299 THEN 0 ELSE 1 END) AS failures,
       round(100.0 * sum(CASE WHEN ack_status BETWEEN 200 AND 299 THEN 0 ELSE 1 END) / count(*), 1)
         AS failure_pct
FROM datapointack
GROUP BY property_name
ORDER BY failure_pct DESC, property_name;
