-- Spark's TIMESTAMP is TIMESTAMP_LTZ: an instant, shown, parsed and split into fields in the
-- session time zone (America/Los_Angeles here, as in Spark's SQLQueryTestSuite);
-- TIMESTAMP_NTZ is a wall-clock time. Expected values follow Spark's Cast and
-- DateTimeUtils rules and its timestamp.sql / timestamp-ltz.sql golden files.

SELECT timestamp_ltz '2016-12-31 00:12:00', timestamp_ltz '2016-12-31', typeof(timestamp '2016-12-31 00:12:00'), typeof(timestamp_ntz '2016-12-31 00:12:00');

SELECT typeof(current_timestamp()), typeof(now()), typeof(localtimestamp()), current_timestamp() = now();

SELECT timestamp '2020-12-01 14:30:08Z', timestamp '2020-12-01 14:30:08+08:00', hour(timestamp '2020-12-01 14:30:08Z'), CAST(timestamp '2020-12-01 23:30:08+00:00' AS date);

SELECT unix_seconds(timestamp '2020-12-01 14:30:08Z'), unix_millis(timestamp '2020-12-01 14:30:08.123Z'), unix_micros(timestamp '1970-01-01 00:00:00Z'), CAST(timestamp '2020-12-01 14:30:08' AS bigint), CAST(timestamp '1969-12-31 15:59:59.5' AS bigint), CAST(timestamp '2020-12-01 14:30:08.25' AS double);

SELECT timestamp_seconds(1230219000), timestamp_seconds(-1230219000), timestamp_seconds(1.23), timestamp_millis(-1230219000123), timestamp_micros(1230219000123123);

SELECT CAST(timestamp '2020-12-01 14:30:08Z' AS timestamp_ntz), CAST(timestamp_ntz '2020-12-01 14:30:08' AS timestamp), CAST(date '2020-12-01' AS timestamp), CAST('2020-01-01 10:00:00+02:00' AS timestamp), CAST(timestamp '2020-12-01 14:30:08.5' AS string);

SELECT date_trunc('HOUR', timestamp '2020-12-01 14:30:08Z'), date_format(timestamp '2020-12-01 14:30:08Z', 'yyyy-MM-dd HH:mm'), to_timestamp('2020-12-01 14:30:08'), typeof(to_timestamp('2020-12-01 14:30:08'));

-- Daylight saving in Los Angeles: 2019-03-10 02:30 does not exist (it is 03:30), the night of
-- 2019-11-03 is 25 hours long.
SELECT timestamp '2019-03-10 02:30:00', timestamp '2019-03-10 01:30:00' + INTERVAL '1' HOUR, timestamp '2019-11-03 12:00:00' - timestamp '2019-11-02 12:00:00', timestamp_ntz '2019-11-03 12:00:00' - timestamp_ntz '2019-11-02 12:00:00';

SELECT timestamp '2019-11-02 12:00:00' + INTERVAL '1' DAY, timestamp '2019-11-02 12:00:00' + INTERVAL '24' HOUR, timestamp '2019-11-03 12:00:00' - INTERVAL '1' DAY, timestamp '2019-11-03 12:00:00' - INTERVAL '1 01' DAY TO HOUR;

SELECT CAST(1 AS timestamp);

SELECT CAST(timestamp_ntz '2020-01-01 00:00:00' AS bigint);

SET spark.sql.ansi.enabled = false;

SELECT CAST(1 AS timestamp), CAST(1.5 AS timestamp), CAST(-1 AS timestamp);

SET spark.sql.ansi.enabled = true;

-- Another session time zone shows the same instants differently.
SET spark.sql.session.timeZone = Asia/Tokyo;

SELECT timestamp '2020-12-01 14:30:08Z', timestamp_seconds(0), hour(timestamp '2020-12-01 14:30:08Z');

SET spark.sql.session.timeZone = Not/AZone;

SET spark.sql.session.timeZone = America/Los_Angeles;

SET spark.sql.timestampType = TIMESTAMP_NTZ;

SELECT typeof(timestamp '2020-01-01 00:00:00'), typeof(CAST('2020-01-01' AS timestamp)), typeof(current_timestamp());

SET spark.sql.timestampType = TIMESTAMP_LTZ;
