-- Doubles as Spark compares them: -0.0 = 0.0 and NaN = NaN (above every number) in comparisons, grouping, DISTINCT, joins, set operations, window partitions and ranks; values keep their sign.
CREATE TEMPORARY VIEW fp AS SELECT * FROM VALUES (1, -0.0D), (2, 0.0D), (3, CAST('NaN' AS DOUBLE)), (4, -CAST('NaN' AS DOUBLE)), (5, 1.5D), (6, CAST('Infinity' AS DOUBLE)), (7, NULL) AS t(id, x);
SELECT x, count(*) AS n FROM fp GROUP BY x ORDER BY x NULLS FIRST;
SELECT DISTINCT x FROM fp ORDER BY x NULLS FIRST;
SELECT count(DISTINCT x) FROM fp;
SELECT -0.0D = 0.0D, -0.0D < 0.0D, -0.0D <=> 0.0D, CAST('NaN' AS DOUBLE) = CAST('NaN' AS DOUBLE), CAST('NaN' AS DOUBLE) > CAST('Infinity' AS DOUBLE);
SELECT id FROM fp WHERE x = 0.0D ORDER BY id;
SELECT id FROM fp WHERE x IN (0.0D, CAST('NaN' AS DOUBLE)) ORDER BY id;
SELECT id FROM fp WHERE x BETWEEN -0.0D AND 0.0D ORDER BY id;
SELECT a.id, b.id FROM fp a JOIN fp b ON a.x = b.x WHERE a.id < b.id ORDER BY 1, 2;
SELECT a.id, b.id FROM fp a JOIN fp b USING (x) WHERE a.id < b.id ORDER BY 1, 2;
SELECT x FROM VALUES (-0.0D) AS t(x) UNION SELECT y FROM VALUES (0.0D) AS u(y);
SELECT x FROM VALUES (-0.0D), (1.0D) AS t(x) INTERSECT SELECT y FROM VALUES (0.0D) AS u(y);
SELECT x FROM VALUES (-0.0D), (1.0D) AS t(x) EXCEPT SELECT y FROM VALUES (0.0D) AS u(y);
SELECT id, rank() OVER (ORDER BY x NULLS LAST) AS r, count(*) OVER (PARTITION BY x) AS same FROM fp ORDER BY id;
SELECT -0.0D AS neg, x FROM fp WHERE id = 1;
