-- WITH (common table expressions), derived tables, UNION.
CREATE TABLE people USING csv OPTIONS (header 'true', inferSchema 'true') LOCATION '$DATA_DIR/people.csv';
WITH adults AS (SELECT * FROM people WHERE age >= 30) SELECT name FROM adults ORDER BY name;
WITH a AS (SELECT 1 AS x), b AS (SELECT x + 1 AS y FROM a) SELECT * FROM a, b;
WITH c(n) AS (SELECT count(*) FROM people) SELECT n * 2 FROM c;
WITH by_city AS (SELECT city, count(*) AS n FROM people GROUP BY city) SELECT city FROM by_city WHERE n = 2 ORDER BY city;
WITH p AS (SELECT id, name FROM people) SELECT a.name, b.name FROM p a JOIN p b ON a.id = b.id + 1 ORDER BY a.name;
SELECT t.total FROM (SELECT sum(age) AS total FROM people) t;
SELECT * FROM (SELECT name, age FROM people WHERE age > 40) AS old ORDER BY age;
SELECT x FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 1) ORDER BY x;
SELECT x FROM (SELECT 1 AS x UNION SELECT 2 UNION SELECT 1) ORDER BY x;
SELECT city FROM people WHERE age < 30 UNION ALL SELECT city FROM people WHERE age > 50;
SELECT 1 AS a UNION ALL SELECT 2.5;
SELECT 1, 2 UNION ALL SELECT 3;
WITH x AS (SELECT 1) SELECT * FROM y;
WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r;
SELECT * FROM (SELECT 1 AS a) t(a, b);
