-- GROUPING SETS, ROLLUP, CUBE and grouping(): one aggregation per set, NULL for the columns a set leaves out.
CREATE TABLE people USING csv OPTIONS (header 'true', inferSchema 'true') LOCATION '$DATA_DIR/people.csv';
CREATE TABLE orders (order_id INT, person_id INT, amount DECIMAL(10, 2), order_date DATE, status STRING) USING csv OPTIONS (header 'true', sep '|') LOCATION '$DATA_DIR/orders.csv';
SELECT city, count(*) FROM people GROUP BY ROLLUP(city) ORDER BY city NULLS LAST;
SELECT city, age > 30 AS older, count(*) AS n FROM people GROUP BY ROLLUP(city, age > 30) ORDER BY city NULLS LAST, older NULLS LAST;
SELECT city, count(*) AS n, grouping(city) AS g FROM people GROUP BY ROLLUP(city) ORDER BY g, city;
SELECT status, person_id, sum(amount) AS total FROM orders GROUP BY CUBE(status, person_id) ORDER BY status NULLS LAST, person_id NULLS LAST;
SELECT status, person_id, grouping(status) AS gs, grouping(person_id) AS gp, count(*) FROM orders GROUP BY CUBE(status, person_id) HAVING count(*) > 1 ORDER BY gs, gp, status, person_id;
SELECT status, person_id, count(*) FROM orders GROUP BY GROUPING SETS ((status), (person_id), ()) ORDER BY status NULLS LAST, person_id NULLS LAST;
SELECT status, count(*) FROM orders GROUP BY GROUPING SETS ((status)) ORDER BY status;
SELECT status, count(*) FROM orders GROUP BY status WITH ROLLUP ORDER BY status NULLS LAST;
SELECT status, person_id, count(*) FROM orders GROUP BY status, person_id WITH CUBE ORDER BY status NULLS LAST, person_id NULLS LAST;
SELECT status, person_id, count(*) FROM orders GROUP BY status, ROLLUP(person_id) ORDER BY status, person_id NULLS LAST;
SELECT city, max(age) FROM people WHERE age > 100 GROUP BY ROLLUP(city);
SELECT grouping(city), count(*) FROM people GROUP BY ROLLUP(city) ORDER BY 1;
SELECT city, grouping(city) FROM people GROUP BY city;
SELECT city, grouping(age) FROM people GROUP BY ROLLUP(city);
SELECT city, name, count(*) FROM people GROUP BY ROLLUP(city);
