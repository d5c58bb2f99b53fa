-- Spark 4.1's TIME (TIME(6)): a time of day to the microsecond. Literals and casts from text
-- as SparkDateTimeUtils.stringToTime reads them, shown as HH:mm:ss and the fraction without
-- trailing zeros; casts to whole seconds since midnight; fields, make_time, to_time,
-- time_trunc, time_diff, TIME ± day-time interval, TIME - TIME. Expected values follow
-- Spark's time.sql and cast.sql golden files.

SELECT TIME '0:0:0', time '16:39:45\t', TIME '01:02:03 PM', TIME '01:02:03 am', TIME '23:59:59.9', typeof(TIME '23:59:59.9');

SELECT TIME '00:00:60';

SELECT TIME '24:00:00';

SELECT TIME '13:00:00 PM';

SELECT CAST(TIME '00:01:52' AS tinyint), CAST(TIME '00:01:52' AS int), CAST(TIME '23:59:59' AS int), CAST(TIME '00:00:17.9' AS bigint), CAST(TIME '23:59:59.999999' AS decimal(11, 6));

SELECT CAST(TIME '23:59:59' AS tinyint);

SELECT CAST('12:34:56.789' AS time), CAST(TIME '12:34:56.789' AS string), try_cast('25:00' AS time), '08:30' :: TIME;

SELECT CAST('not a time' AS time);

SELECT CAST(TIME '12:00:00' AS timestamp);

SELECT to_time(null), to_time('01:02:03'), to_time('23-59-59.999999', 'HH-mm-ss.SSSSSS'), try_to_time('12:48:31 abc');

SELECT to_time('13-60', 'HH-mm');

SELECT make_time(1, 18, 19.87), hour(TIME '12:34:56.789'), minute(TIME '12:34:56.789'), second(to_time('23-59-58.987654', 'HH-mm-ss.SSSSSS')), extract(SECOND FROM TIME '00:59:00.987654'), typeof(extract(SECOND FROM TIME '00:59:00.987654'));

SELECT make_time(-1, 18, 19.87);

SELECT time_trunc('MILLISECOND', TIME '12:34:56.123456'), time_trunc('hour', TIME '12:34:56'), time_diff('MINUTE', TIME '01:02:03', TIME '12:34:56'), time_diff('HOUR', TIME '12:34:56', TIME '01:02:03');

SELECT time_trunc('DAY', TIME '12:34:56');

SELECT TIME '12:43:33.1234' + INTERVAL '01:04:05.56' HOUR TO SECOND, TIME '08:30' - INTERVAL '6' HOUR, TIME '12:30' - INTERVAL '12:29:59.000001' HOUR TO SECOND, INTERVAL '1' MINUTE + TIME '00:00:00';

SELECT TIME '12:30:41' - TIME '10:00', typeof(TIME '12:30:41' - TIME '10:00'), TIME '00:00:00.1234' - TIME '23:59:59';

SELECT TIME '00:00:00.0101' + 1;

SELECT TIME '23:00:00' + INTERVAL '2' HOUR;

SELECT c FROM VALUES (TIME '12:34:56.789'), (TIME '01:02:03.456789'), (NULL) AS t(c) ORDER BY c;

SELECT TIME '10:00:00' < TIME '10:00:00.000001', TIME '10:00:00' = '10:00:00', max(c), min(c) FROM VALUES (TIME '12:00:00'), (TIME '01:00:00') AS t(c);

SELECT typeof(current_time()), current_time() = current_time();
