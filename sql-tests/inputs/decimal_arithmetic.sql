-- Decimal arithmetic with Spark's result types (allowPrecisionLoss), exact values rounded half-up, and ANSI overflow.
SELECT 12345678912345678912345678912.1234567 + 9999999999999999999999999999999.12345;
SELECT 123456789123456789.1234567890 * 1.123456789123456789;
SELECT 12345678912345.123456789123 / 0.000000012345678;
SELECT 10.3 * 3.0, 10.300000000000000000 * 3.0000000000000000000;
SELECT cast(999999999999999999999 as decimal(38,0)) / 1000000000000000000000;
SELECT cast(999999999999999999999 as decimal(38,0)) / 1000100000000000000000;
SELECT 1.0 / 3, -1.0 / 3, 2.0 / 3, 1.00 % 0.3, -7.5 % 2.0, 7 % 2.5;
SELECT typeof(1.0 / 3), typeof(10.3 * 3.0), typeof(1.5 + 2), typeof(CAST(1 AS DECIMAL(38,18)) * 10);
CREATE TEMPORARY VIEW wide AS SELECT CAST(a AS DECIMAL(38,18)) AS a, CAST(b AS DECIMAL(38,18)) AS b FROM VALUES (1.5, 3.0), (-2.25, 0.5) AS t(a, b);
SELECT a + b, a * b, a / b, a * 10, b / 10, typeof(a + b), typeof(a * b), typeof(a / b), typeof(a * 10), typeof(b / 10) FROM wide;
SELECT (5e36BD + 0.1) + 5e36BD;
SELECT try_add(5e36BD + 0.1, 5e36BD), try_multiply(1e20BD, 1e20BD), try_divide(1.0, 0.0);
SELECT 1.0 / 0.0;
SELECT 1.0 % 0.0;
SET ember.sql.ansi.enabled = false;
SELECT (5e36BD + 0.1) + 5e36BD, 1.0 / 0.0, 1.0 % 0.0;
RESET ember.sql.ansi.enabled;
SELECT sum(amount * 2), avg(amount) FROM VALUES (1.00), (2.00), (2.00) AS t(amount);
