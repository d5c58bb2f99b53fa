-- JOIN ... USING and NATURAL JOIN: the USING columns appear once, as in Spark.
CREATE TABLE people USING csv OPTIONS (header 'true', inferSchema 'true') LOCATION '$DATA_DIR/people.csv';
CREATE TABLE orders (order_id INT, id INT, amount DECIMAL(10, 2), order_date DATE, status STRING) USING csv OPTIONS (header 'true', sep '|') LOCATION '$DATA_DIR/orders.csv';
SELECT * FROM people JOIN orders USING (id) ORDER BY order_id;
SELECT id, name, order_id FROM people INNER JOIN orders USING (id) WHERE amount > 10 ORDER BY order_id;
SELECT id, name, order_id FROM people LEFT JOIN orders USING (id) ORDER BY id, order_id;
SELECT id, name, order_id FROM people RIGHT JOIN orders USING (id) ORDER BY order_id;
SELECT id, name, order_id FROM people FULL OUTER JOIN orders USING (id) ORDER BY id, order_id;
SELECT * FROM people LEFT SEMI JOIN orders USING (id) ORDER BY id;
SELECT * FROM people LEFT ANTI JOIN orders USING (id) ORDER BY id;
SELECT people.id, orders.order_id FROM people JOIN orders USING (id) ORDER BY 2;
SELECT id, name, order_id FROM people NATURAL JOIN orders ORDER BY order_id;
SELECT count(*) FROM people NATURAL LEFT JOIN orders;
SELECT * FROM people JOIN orders USING (nosuch);
SELECT a.id, b.name FROM people a JOIN people b USING (id, name) ORDER BY a.id;
SELECT x, y FROM (SELECT 1 AS x, 'a' AS y) t NATURAL JOIN (SELECT 2 AS z) u;
