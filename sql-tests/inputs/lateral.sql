-- LATERAL subqueries in FROM: the subquery may refer to the columns of the FROM items on its
-- left; it is rewritten into joins (DecorrelateLateralJoin). Expected values follow Spark's
-- join-lateral.sql golden file and its LATERAL documentation.

CREATE TEMPORARY VIEW t1(c1, c2) AS VALUES (0, 1), (1, 2);

CREATE TEMPORARY VIEW t2(c1, c2) AS VALUES (0, 2), (0, 3);

SELECT * FROM t1, LATERAL (SELECT c1);

SELECT * FROM t1, LATERAL (SELECT c1 + c2 AS c3);

SELECT * FROM t1 JOIN LATERAL (SELECT c1 + c2 AS c3) ON c2 = c3;

SELECT * FROM t1, LATERAL (SELECT * FROM t2 WHERE t1.c1 = t2.c1);

SELECT * FROM t1, LATERAL (SELECT t2.c2 FROM t2 WHERE t1.c1 = t2.c1) s;

SELECT * FROM t1, LATERAL (SELECT c2 FROM t2 WHERE t1.c1 = t2.c1) AS s(x);

SELECT a, b FROM t1, LATERAL (SELECT t1.c1 AS a, t2.c2 AS b FROM t2 WHERE t2.c2 > t1.c2) ORDER BY a, b;

SELECT * FROM t1, LATERAL (SELECT SUM(c2) FROM t2 WHERE t1.c1 = t2.c1);

SELECT * FROM t1, LATERAL (SELECT count(*) AS n, max(c2) AS m FROM t2 WHERE t1.c1 = t2.c1);

SELECT * FROM t1 LEFT JOIN LATERAL (SELECT t2.c2 FROM t2 WHERE t1.c1 = t2.c1) s ON true;

SELECT * FROM t1, LATERAL (SELECT 1 AS one);

SELECT * FROM t1, LATERAL (SELECT c1 FROM t2) s;

SELECT * FROM t1 CROSS JOIN LATERAL (SELECT c2 * 10 AS d) JOIN t2 ON t2.c1 = t1.c1;

SELECT * FROM t1, LATERAL (SELECT * FROM t2 WHERE t1.c1 = t2.c1 LIMIT 1);

SELECT * FROM t1 FULL JOIN LATERAL (SELECT c1) ON true;

SELECT * FROM t1 LEFT JOIN LATERAL (SELECT c1 + 1 AS d) ON true;
