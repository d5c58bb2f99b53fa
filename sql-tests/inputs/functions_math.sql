-- Math functions with Spark's semantics.
CREATE TABLE people USING csv OPTIONS (header 'true', inferSchema 'true') LOCATION '$DATA_DIR/people.csv';
SELECT abs(-5), abs(5), abs(-2.50), abs(-1.5e0), abs(NULL);
SELECT round(2.5), round(-2.5), round(3.14159, 2), round(1.005, 2), round(125.5, -1);
SELECT round(2.5e0), round(-2.5e0), round(2.675e0, 2), round(1234.5678e0, -2), round(0.5e0);
SELECT round(1250, -2), round(-1250, -2), round(1249, -2), round(7, 2), round(NULL, 1);
SELECT round(CAST(1.005 AS DOUBLE), 2), round(CAST(1e300 AS DOUBLE), 2), round(CAST('NaN' AS DOUBLE));
SELECT name, salary, round(salary, 0), round(salary, -3) FROM people ORDER BY id;
SELECT ceil(1.2e0), ceil(-1.2e0), floor(1.8e0), floor(-1.8e0), ceiling(2.0e0);
SELECT ceil(1.25), floor(-1.25), ceil(5), floor(NULL);
SELECT ceil(salary), floor(salary) FROM people ORDER BY id;
SELECT power(2, 10), pow(2, -1), power(2.0, 0.5), power(NULL, 2);
SELECT sqrt(16), sqrt(2), sqrt(-1), sqrt(NULL);
SELECT ln(1), ln(exp(2)), ln(0), ln(-1);
SELECT log10(1000), log10(0), log10(NULL), log(2, 8), log(0, 8);
SELECT exp(0), exp(1), exp(NULL);
SELECT name, age, abs(age - 40), power(age, 2) FROM people ORDER BY id;
SELECT sum(round(salary)) FROM people;
SELECT avg(ceil(salary)) FROM people WHERE false;
SELECT round(age / 7, 3) FROM people ORDER BY id;
SELECT round(1.5, 'x');
SELECT round();
SELECT power(2);
SELECT sqrt('abc', 1);
SELECT ceil('x', 1, 2);
SELECT abs('a', 'b');
SELECT exp(1, 2);
SELECT log10();
SELECT ln(2, 3);
SELECT floor();
SELECT round(1.5, 1, 2);
SELECT powr(2, 3);

-- pmod: the remainder made non-negative for a positive divisor (Spark's Pmod: r = a % n;
-- r < 0 ? (r + n) % n : r).
SELECT pmod(10, 3), pmod(-10, 3), pmod(7, -3), pmod(-7, -3), pmod(-7.5, 2), pmod(NULL, 3);

SELECT pmod(1, 0);
