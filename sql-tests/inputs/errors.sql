-- Bad input: each statement fails with a message that says where and what would work.
CREATE TABLE people USING csv OPTIONS (header 'true', inferSchema 'true') LOCATION '$DATA_DIR/people.csv';
SELEC name FROM people;
SELECT name,
  FROM people;
SELECT name FROM people WHERE;
SELECT 'unterminated FROM people;
SELECT nme FROM people;
SELECT name FROM peple;
SELECT people.nosuch FROM people;
SELECT x.name FROM people;
SELECT name FROM people p JOIN people q ON p.id = q.id;
SELECT name + DATE '2024-01-01' FROM people;
SELECT 'a' - DATE '2024-01-01';
SELECT CAST('abc' AS INT);
SELECT 1 / 0;
SELECT nosuchfunction(1);
SELECT uper(name) FROM people;
SELECT count(DISTINCT) FROM people;
SELECT * ;
SELECT (SELECT 1);
SELECT name FROM people WHERE id IN (SELECT id FROM people);
INSERT INTO people VALUES (1);
CACHE TABLE people;
SELECT name FROM people GROUP BY;
SELECT 1 2;
-- Parameters belong to prepared statements (Flight SQL, JDBC); plain SQL text cannot bind them.
SELECT name FROM people WHERE id = ?;
SELECT $1 + 1;
