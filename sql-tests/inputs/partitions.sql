-- Hive-style key=value folders become columns after the data columns, and filters on them skip folders.
CREATE TABLE sales USING csv OPTIONS (header 'true', inferSchema 'true') LOCATION '$DATA_DIR/sales';
DESCRIBE sales;
SELECT * FROM sales ORDER BY id;
SELECT year, region, sum(amount) AS total FROM sales GROUP BY year, region ORDER BY year, region;
SELECT id FROM sales WHERE year = 2024 AND region IS NULL;
SELECT count(*) FROM sales WHERE region = 'EU';
SELECT DISTINCT region FROM sales WHERE year > 2023 ORDER BY region;
SELECT count(*) FROM sales WHERE year = 2030;
EXPLAIN SELECT id FROM sales WHERE year = 2024;
EXPLAIN SELECT id FROM sales WHERE region IN ('US', 'APAC') OR year < 2000;
-- Declared columns give the partition columns their types.
CREATE TABLE sales_typed (id INT, amount DECIMAL(10, 2), year BIGINT, region STRING) USING csv OPTIONS (header 'true') LOCATION '$DATA_DIR/sales';
DESCRIBE sales_typed;
SELECT year, sum(amount) FROM sales_typed WHERE year = 2023 GROUP BY year;
