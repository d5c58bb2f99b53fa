-- Higher-order functions with lambdas: transform, filter, exists, forall, aggregate/reduce,
-- zip_with, map_filter, transform_keys, transform_values; a lambda sees its parameters and
-- the row's columns. Expected values follow Spark's higher-order-functions.sql golden file
-- and its function documentation; Spark names a lambda lambdafunction(<body>,
-- namedlambdavariable(), ...).

CREATE TEMPORARY VIEW nested AS SELECT * FROM VALUES (1, array(32, 97), array(array(12, 99), array(123, 42), array(1))), (2, array(77, -76), array(array(6, 96, 65), array(-1, -2))), (3, array(12), array(array(17))) AS t(x, ys, zs);

SELECT transform(array(1, 2, 3), x -> x + 1), transform(array(1, 2, 3), (x, i) -> x + i);

SELECT x, transform(ys, y -> y * y) AS v FROM nested ORDER BY x;

SELECT x, transform(ys, (y, i) -> y + i) AS v FROM nested ORDER BY x;

SELECT x, transform(zs, z -> concat(ys, z)) AS v FROM nested ORDER BY x;

SELECT x, transform(ys, 0) AS v FROM nested;

SELECT filter(array(1, 2, 3, NULL), x -> x % 2 = 1), filter(array(0, 2, 3), (x, i) -> x > i), filter(CAST(NULL AS array<int>), x -> true);

SELECT x, filter(ys, y -> y > 30) AS v FROM nested ORDER BY x;

SELECT exists(array(1, 2, 3), x -> x % 2 = 0), exists(array(1, NULL, 3), x -> x % 2 = 0), exists(array(), x -> true), forall(array(2, 4), x -> x % 2 = 0), forall(array(2, NULL), x -> x % 2 = 0), forall(array(1, NULL), x -> x % 2 = 0);

SELECT x, exists(ys, y -> y > x * 30) AS v FROM nested ORDER BY x;

SELECT aggregate(array(1, 2, 3), 0, (acc, x) -> acc + x), aggregate(array(1, 2, 3), 0, (acc, x) -> acc + x, acc -> acc * 10), reduce(array(1, 2, 3), 0, (acc, x) -> acc + x);

SELECT x, aggregate(ys, 0, (y, a) -> y + a + x) AS v FROM nested ORDER BY x;

SELECT x, aggregate(zs, 0, (acc, z) -> acc + aggregate(z, 0, (a, v) -> a + v)) AS v FROM nested ORDER BY x;

SELECT aggregate(array(1.5D, 2.5D), 0.0D, (acc, x) -> acc + x), aggregate(CAST(NULL AS array<int>), 0, (acc, x) -> acc + x);

SELECT aggregate(array(1L, 2L), 0, (acc, x) -> acc + x);

SELECT zip_with(array(1, 2, 3), array('a', 'b'), (x, y) -> concat(y, x)), zip_with(array(1, 2), array(3, 4), (x, y) -> x + y);

SELECT map_filter(map(1, 0, 2, 2, 3, -1), (k, v) -> k > v), transform_keys(map(1, 'a', 2, 'b'), (k, v) -> k * 10), transform_values(map(1, 'a', 2, 'b'), (k, v) -> concat(v, k));

SELECT transform_keys(map(1, 'a', 2, 'b'), (k, v) -> 1);

SELECT transform(array(1), x -> sum(x));

SELECT transform(1, x -> x);

SELECT exists(SELECT 1), NOT exists(SELECT 1 WHERE false);
