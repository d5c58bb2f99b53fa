-- Aggregate functions with Spark's semantics, through partial and final aggregation.
CREATE TABLE people USING csv OPTIONS (header 'true', inferSchema 'true') LOCATION '$DATA_DIR/people.csv';
CREATE TABLE orders (order_id INT, person_id INT, amount DECIMAL(10, 2), order_date DATE, status STRING) USING csv OPTIONS (header 'true', sep '|') LOCATION '$DATA_DIR/orders.csv';
SELECT count_if(age > 30), count_if(age IS NULL), count_if(city = 'Paris') FROM people;
SELECT city, count_if(age > 30) FROM people GROUP BY city ORDER BY city NULLS LAST;
SELECT count_if(age > 30) FROM people WHERE false;
SELECT stddev(age), stddev_samp(age), std(age) FROM people;
SELECT variance(age), var_samp(age) FROM people;
SELECT city, stddev(age), variance(age) FROM people GROUP BY city ORDER BY city NULLS LAST;
SELECT stddev(age), variance(age) FROM people WHERE false;
SELECT stddev(x), variance(x) FROM VALUES (1), (2), (3), (4) AS t(x);
SELECT collect_list(name) FROM people;
SELECT collect_list(city) FROM people;
SELECT city, collect_list(name) FROM people GROUP BY city ORDER BY city NULLS LAST;
SELECT collect_list(name) FROM people WHERE false;
SELECT collect_set(x) FROM VALUES (1), (1), (NULL) AS t(x);
SELECT status, collect_set(person_id) FROM orders WHERE status = 'returned' OR order_id IN (103, 104) GROUP BY status ORDER BY status;
SELECT approx_count_distinct(city), approx_count_distinct(age), approx_count_distinct(status) FROM people, orders WHERE people.id = orders.person_id;
SELECT approx_count_distinct(age) FROM people WHERE false;
SELECT first(name), last(name) FROM people;
SELECT first(age), first(age, true), last(salary), last(salary, true) FROM VALUES (NULL, 1.0), (5, NULL) AS t(age, salary);
SELECT first(x), last(x) FROM VALUES (NULL), (2), (3), (NULL) AS t(x);
SELECT first(x, true), last(x, true) FROM VALUES (NULL), (2), (3), (NULL) AS t(x);
SELECT first(name), last(name) FROM people WHERE false;
SELECT max_by(name, age), min_by(name, age) FROM people;
SELECT city, max_by(name, salary), min_by(name, salary) FROM people GROUP BY city ORDER BY city NULLS LAST;
SELECT max_by(name, age) FROM people WHERE false;
SELECT max_by(x, y), min_by(x, y) FROM VALUES ('a', NULL), ('b', 2), (NULL, 3) AS t(x, y);
SELECT status, count_if(amount > 10), max_by(order_id, amount), min_by(order_id, order_date) FROM orders GROUP BY status ORDER BY status;
SELECT person_id, sum(amount), first(status) FROM orders WHERE person_id = 1 GROUP BY person_id;
SELECT count(*), count_if(true), count_if(NULL) FROM people;
SELECT max_by(name) FROM people;
SELECT count_if(age) FROM people;
SELECT first(name, age) FROM people;
SELECT collect_list(name, city) FROM people;
SELECT stddev() FROM people;
SELECT count_if(count_if(true)) FROM people;
SELECT count(DISTINCT k, v) AS n, count(DISTINCT k) AS nk FROM VALUES (1, 'a'), (1, 'a'), (2, NULL), (NULL, 'c'), (3, 'd'), (3, 'e') AS t(k, v);
SELECT g, count(DISTINCT k, v) AS n FROM VALUES ('x', 1, 'a'), ('x', 1, 'a'), ('x', 2, 'b'), ('y', NULL, 'c') AS t(g, k, v) GROUP BY g ORDER BY g;
SELECT count(DISTINCT k, v) FROM VALUES (1, 'a') AS t(k, v) WHERE k > 5;
SELECT sum(x) FILTER (WHERE x) FROM VALUES (1) t(x);
SELECT sum(x) FILTER (WHERE x > 1) AS s, count(*) FILTER (WHERE x IS NULL) AS n FROM VALUES (1), (2), (NULL) t(x);

-- every is bool_and, some and any are bool_or; NULLs are skipped.
SELECT every(x), some(x), any(x), bool_and(x), bool_or(x) FROM VALUES (true), (false), (NULL) AS t(x);

SELECT every(x), some(x) FROM VALUES (true), (NULL) AS t(x);

SELECT every(1);
