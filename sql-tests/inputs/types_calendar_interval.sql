-- Spark's legacy calendar interval (the type `interval`): CAST(string AS INTERVAL) and
-- make_interval make it; it is shown as Spark's CalendarInterval.toString (years and months,
-- days, hours, minutes, seconds with their fraction), adds to dates and timestamps, to
-- itself, scales by numbers, and cannot be ordered, grouped, summed or stored.
-- Expected values follow Spark's IntervalUtils (stringToInterval, fromDoubles) and its
-- interval.sql golden file.

SELECT CAST('interval 3 month 1 hour' AS interval), typeof(CAST('interval 3 month 1 hour' AS interval));

SELECT CAST('1 YEAR 2 Months 3 weeks' AS interval), CAST('  -1.5 seconds ' AS interval), CAST('1 millisecond 2 microseconds' AS interval), CAST('- 3 days' AS interval);

SELECT CAST('interval' AS interval), CAST('1.5 days' AS interval), CAST('3' AS interval), CAST('1 fortnight' AS interval), CAST(NULL AS interval);

SELECT make_interval(1, 2, 3, 4, 5, 6, 7.008009), make_interval(), make_interval(1, NULL);

SELECT make_interval(1, 2, 3, 4, 0, 0, 123456789012.123456);

SELECT make_interval(2147483647, 1);

SELECT try_make_interval(2147483647, 1);

SELECT CAST(make_interval(0, 1, 0, 1, 1) AS string), CAST(CAST('0 seconds' AS interval) AS string);

SELECT date '2020-01-31' + make_interval(0, 1), date '2020-01-31' - CAST('1 month 2 days' AS interval), make_interval(0, 0, 1) + date '2020-02-28';

SELECT date '2020-01-01' + make_interval(0, 0, 0, 0, 1);

SELECT timestamp '2020-01-31 10:00:00' + make_interval(0, 1, 0, 1, 2), timestamp '2020-03-31 00:00:00' - CAST('1 month 1 second' AS interval);

SELECT make_interval(0, 1) + make_interval(0, 0, 0, 2), make_interval(1) - make_interval(0, 1), -make_interval(1, 2);

SELECT make_interval(0, 3) * 1.5, 2 * make_interval(0, 0, 0, 1, 1), make_interval(0, 0, 0, 3) / 2, make_interval(0, 1, 0, 1) / 4;

SELECT make_interval(0, 0, 0, 1) / 0;

SELECT make_interval(1) = make_interval(0, 12), make_interval(0, 0, 0, 1) = make_interval(0, 0, 0, 0, 24);

SELECT make_interval(1) < make_interval(0, 13);

SELECT i FROM VALUES (1), (2) AS t(x) LATERAL VIEW explode(array(make_interval(0, x))) e AS i ORDER BY i;

SELECT make_interval(0, x), count(*) FROM VALUES (1), (2) AS t(x) GROUP BY make_interval(0, x);

SELECT sum(make_interval(0, x)) FROM VALUES (1), (2) AS t(x);

SELECT max(map(1, 2));

SELECT DISTINCT map(1, 2);

SELECT map(1, 2) = map(1, 2);

SELECT m FROM (SELECT map(1, x) AS m FROM VALUES (1), (2) AS t(x)) ORDER BY m;

SELECT map(1, 2) UNION ALL SELECT map(1, 3);

-- Outside ANSI mode: a date plus a time part goes through midnight and keeps the date; an
-- overflow is NULL; dividing by zero is NULL.
SET spark.sql.ansi.enabled = false;

SELECT date '2024-01-31' + CAST('25 hours' AS interval), date '2024-01-31' - CAST('1 second' AS interval), make_interval(2147483647, 1), make_interval(0, 0, 0, 1) / 0;

SET spark.sql.ansi.enabled = true;

-- extract from a calendar interval: years int, months tinyint, days int (with the whole days
-- of the time part), hours and minutes tinyint, seconds decimal(8,6).
SELECT extract(year FROM i), extract(month FROM i), extract(day FROM i), extract(hour FROM i), extract(minute FROM i), extract(second FROM i), typeof(extract(month FROM i)), typeof(extract(second FROM i)) FROM (SELECT CAST('1 year 14 months 3 days 30 hours 5 minutes 6.789 seconds' AS interval) AS i);
