-- BINARY: literals, casts, comparison, grouping, joins, files, and the byte functions.
-- Expected values are the examples of Spark's function documentation
-- (https://spark.apache.org/docs/latest/api/sql/); binary values show as their UTF-8 text,
-- as in Spark's SQL shell and golden files.

SELECT X'537061726B', typeof(X'1'), hex(X'1'), hex(X'');

SELECT X'GG';

SELECT CAST('Spark' AS binary), typeof(CAST('Spark' AS binary)), CAST(CAST('Spark' AS binary) AS string);

SELECT X'01' < X'02', X'FF' > X'01', X'0102' > X'01', X'61' = CAST('a' AS binary);

SELECT CAST(1 AS binary);

SELECT CAST(X'01' AS int);

SET ember.sql.ansi.enabled=false;

SELECT hex(CAST(1 AS binary)), hex(CAST(CAST(1 AS bigint) AS binary)), hex(CAST(CAST(-2 AS smallint) AS binary));

SET ember.sql.ansi.enabled=true;

SELECT hex(17), hex(-1), hex('Spark SQL'), hex(CAST('abc' AS binary));

SELECT decode(unhex('537061726B2053514C'), 'UTF-8'), hex(unhex('F')), unhex('GG');

SELECT base64('Spark SQL'), unbase64('U3BhcmsgU1FM'), typeof(unbase64('U3BhcmsgU1FM'));

SELECT length(base64(repeat('x', 60))), base64(encode('Bill', 'UTF-16'));

SELECT encode('abc', 'utf-8'), decode(encode('abc', 'utf-8'), 'utf-8'), hex(encode('é', 'ISO-8859-1'));

SELECT encode('abc', 'klingon');

SELECT encode('渭城', 'US-ASCII');

SELECT decode(X'FF', 'UTF-8');

SELECT decode(2, 1, 'Southlake', 2, 'San Francisco', 3, 'New Jersey', 4, 'Seattle', 'Non domestic');

SELECT decode(6, 1, 'Southlake', 2, 'San Francisco', 3, 'New Jersey', 4, 'Seattle');

SELECT decode(null, 6, 'Spark', NULL, 'SQL', 4, 'rocks');

SELECT md5('Spark'), sha1('Spark'), sha('Spark'), crc32('Spark');

SELECT sha2('Spark', 256), sha2('Spark', 0) = sha2('Spark', 256), sha2('Spark', 100), length(sha2('Spark', 512));

SELECT to_binary('abc', 'utf-8'), try_to_binary('GG'), hex(to_binary('0A')), to_binary('U3Bhcms=', 'base64');

SELECT to_binary('GG');

SELECT hex(b), count(*) FROM VALUES (X'01'), (X'01'), (X'FF'), (NULL) AS t(b) GROUP BY b ORDER BY b;

SELECT hex(a.b) FROM VALUES (X'01'), (X'02') AS a(b) JOIN VALUES (X'02') AS c(b) ON a.b = c.b;

CREATE TABLE bin_parquet USING parquet LOCATION '$OUT_DIR/bin_parquet' AS
SELECT id, encode(CAST(id AS string), 'utf-8') AS b FROM VALUES (1), (22), (333) AS t(id);

SELECT id, b, hex(b), typeof(b) FROM bin_parquet ORDER BY id;
