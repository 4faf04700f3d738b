-- One device's digital twin: the latest value of each of its properties.
SELECT property_name, value_json, value_num, value_time
FROM twin_latest
WHERE dsn = 'AC000W000000003'
ORDER BY property_name;
