-- CREATE TABLE ... AS SELECT, INSERT INTO and INSERT OVERWRITE write files; a failed job leaves nothing.
CREATE TABLE people USING csv OPTIONS (header 'true', inferSchema 'true') LOCATION '$DATA_DIR/people.csv';
CREATE TABLE adults USING parquet LOCATION '$OUT_DIR/adults' AS SELECT id, name, age, CAST(salary AS DECIMAL(10, 2)) AS salary FROM people WHERE age >= 30;
DESCRIBE adults;
SELECT * FROM adults ORDER BY id;
INSERT INTO adults SELECT 100, 'Zed', 99, 1.5;
INSERT INTO adults VALUES (101, 'Yan', 77, 2);
SELECT count(*), max(age), sum(salary) FROM adults;
INSERT OVERWRITE adults SELECT id, name, age, salary FROM adults WHERE age > 70;
SELECT * FROM adults ORDER BY id;
CREATE TABLE adults_csv USING csv OPTIONS (header 'true', sep '|') LOCATION '$OUT_DIR/adults_csv' AS SELECT * FROM adults;
SELECT * FROM adults_csv ORDER BY id;
SELECT * FROM csv.`$OUT_DIR/adults_csv` ORDER BY _c0;
-- The location already holds data files.
CREATE TABLE again USING parquet LOCATION '$OUT_DIR/adults' AS SELECT 1 AS one;
CREATE TABLE adults USING parquet LOCATION '$OUT_DIR/elsewhere' AS SELECT 1 AS one;
-- A task fails: the table is not created and nothing is left at its location.
CREATE TABLE failed USING parquet LOCATION '$OUT_DIR/failed' AS SELECT id, 10 / (id - 3) AS x FROM people;
SELECT * FROM failed;
SELECT * FROM parquet.`$OUT_DIR/failed`;
-- A failing INSERT leaves the table as it was.
INSERT INTO adults SELECT id, name, age, salary / 0 FROM people;
SELECT count(*) FROM adults;
INSERT INTO adults SELECT 1, 2;
INSERT INTO people_view SELECT 1;
CREATE TABLE dup USING parquet LOCATION '$OUT_DIR/dup' AS SELECT 1 AS a, 2 AS a;
CREATE TABLE listed (a INT) USING parquet LOCATION '$OUT_DIR/listed' AS SELECT 1 AS a;
