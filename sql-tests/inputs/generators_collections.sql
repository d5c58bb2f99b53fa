-- Arrays, maps and structs, and the generators over them (explode, posexplode, inline,
-- stack, their _outer forms) in the SELECT list and in LATERAL VIEW. Expected values are
-- the examples of Spark's function documentation and its LATERAL VIEW page.

SELECT array(1, 2, 3), array(1, 2.5), typeof(array(1, 2)), size(array('b', 'd', 'c', 'a'));

SELECT map(1.0, '2', 3.0, '4'), typeof(map(1, 'a')), map_keys(map(1, 'a', 2, 'b')), map_values(map(1, 'a', 2, 'b'));

SELECT map(1, 'a', 1, 'b');

SELECT struct(1, 'a'), named_struct('x', 1, 'y', 'z'), typeof(struct(1, 'a'));

SELECT array(1, 2, 3)[0], array(1, 2, 3)[2], map(1, 'a', 2, 'b')[2], map(1, 'a', 2, 'b')[3];

SELECT array(1, 2, 3)[3];

SELECT element_at(array(1, 2, 3), 2), element_at(array(1, 2, 3), -1), element_at(map(1, 'a', 2, 'b'), 2), try_element_at(array(1, 2, 3), 5);

SELECT element_at(array(1, 2, 3), 0);

SELECT array_contains(array(1, 2, 3), 2), array_contains(array(1, NULL), 3), array_contains(array(1, 2), NULL);

SELECT explode(array(10, 20));

SELECT explode(array(10, 20)) AS x;

SELECT posexplode(array(10, 20));

SELECT explode(map('a', 1, 'b', 2));

SELECT posexplode(map('a', 1, 'b', 2)) AS (p, k, v);

SELECT explode_outer(array(10, 20));

SELECT inline(array(struct(1, 'a'), struct(2, 'b')));

SELECT stack(2, 1, 2, 3);

SELECT stack(2, 'a', 1, 'b', 2.5);

SELECT explode(array(1, 2)) + 1;

SELECT explode(array(1)), explode(array(2));

SELECT explode(1);

CREATE TEMPORARY VIEW person AS SELECT * FROM VALUES
  (100, 'John', 30, 1, 'Street 1'),
  (200, 'Mary', NULL, 1, 'Street 2'),
  (300, 'Mike', 80, 3, 'Street 3'),
  (400, 'Dan', 50, 4, 'Street 4')
  AS t(id, name, age, class, address);

SELECT * FROM person
  LATERAL VIEW EXPLODE(ARRAY(30, 60)) tableName AS c_age
  LATERAL VIEW EXPLODE(ARRAY(40, 80)) AS d_age;

SELECT c_age, COUNT(1) FROM person
  LATERAL VIEW EXPLODE(ARRAY(30, 60)) AS c_age
  LATERAL VIEW EXPLODE(ARRAY(40, 80)) AS d_age
GROUP BY c_age;

SELECT * FROM person LATERAL VIEW EXPLODE(ARRAY()) tableName AS c_age;

SELECT * FROM person LATERAL VIEW OUTER EXPLODE(ARRAY()) tableName AS c_age;

SELECT name, pos, letter FROM person LATERAL VIEW posexplode(split(name, '')) t AS pos, letter WHERE id = 400 ORDER BY pos;

SELECT id, explode(array(id, id * 10)) AS v FROM person WHERE age > 40 ORDER BY v;

SELECT id, x FROM person LATERAL VIEW explode(array(1, 2)) t AS x, y;

SELECT k, count(*) FROM VALUES (array(1, 1, 2)), (array(2)) AS t(a) LATERAL VIEW explode(a) e AS k GROUP BY k ORDER BY k;

SELECT explode(a), count(*) FROM VALUES (array(1, 1, 2)) AS t(a) GROUP BY a;

SELECT explode_outer(CAST(NULL AS array<int>)), typeof(CAST(NULL AS map<string, int>));

-- Nested values as grouping keys, sort keys and join keys, and through Parquet.
SELECT a, count(*) FROM VALUES (array(1, 2)), (array(1, 2)), (array(3)), (array(1)) AS t(a) GROUP BY a ORDER BY a;

SELECT x.a FROM VALUES (array(1, 2)), (array(3)) AS x(a) JOIN VALUES (array(1, 2)) AS y(a) ON x.a = y.a;

CREATE TABLE nested_parquet USING parquet LOCATION '$OUT_DIR/nested_parquet' AS
SELECT 1 AS id, array(1, 2) AS a, map('k', 1.5) AS m, struct(1, 'x') AS s;

SELECT *, typeof(a), typeof(m), typeof(s) FROM nested_parquet;

SELECT id, v FROM nested_parquet LATERAL VIEW explode(a) t AS v ORDER BY v;

-- Struct fields: s.f, t.s.f, s['f'], fields of array elements.
SELECT s.b, s.a, t.s.a, s['b'] FROM VALUES (named_struct('a', 1, 'b', 'x')) AS t(s);

SELECT named_struct('x', array(named_struct('y', 5))).x[0].y;

SELECT s.zz FROM VALUES (named_struct('a', 1)) AS t(s);

-- Array functions (examples of Spark's function documentation).
SELECT array_distinct(array(1, 2, 3, null, 3)), array_compact(array(1, 2, 3, null));

SELECT array_sort(array('b', 'd', null, 'c', 'a')), sort_array(array('b', 'd', null, 'c', 'a'), true), sort_array(array('b', 'd', null, 'c', 'a'), false);

SELECT array_max(array(1, 20, null, 3)), array_min(array(1, 20, null, 3)), array_position(array(312, 773, 708, 708), 708), array_position(array(312, 773, 708, 708), 414);

SELECT array_remove(array(1, 2, 3, null, 3), 3), array_union(array(1, 2, 3), array(1, 3, 5)), array_intersect(array(1, 2, 3), array(1, 3, 5)), array_except(array(1, 2, 3), array(1, 3, 5));

SELECT array_join(array('hello', 'world'), ' '), array_join(array('hello', null, 'world'), ' '), array_join(array('hello', null, 'world'), ' ', ',');

SELECT array_repeat('123', 2), flatten(array(array(1, 2), array(3, 4))), slice(array(1, 2, 3, 4), 2, 2), slice(array(1, 2, 3, 4), -2, 2);

SELECT sequence(1, 5), sequence(5, 1), sequence(1, 9, 4);

SELECT sequence(1, 5, -1);

SELECT slice(array(1, 2, 3), 0, 1);

SELECT map_from_arrays(array(1.0, 3.0), array('2', '4')), map_entries(map(1, 'a', 2, 'b'));

SELECT concat(array(1, 2, 3), array(4, 5), array(6)), reverse('Spark SQL'), reverse(array(2, 1, 4, 3)), concat('Spark', 'SQL'), concat(array(1), CAST(NULL AS array<int>));

SELECT concat(array(1), 'a');

-- s.* of a struct column: its fields (a table of that name wins).
SELECT s.*, id FROM VALUES (1, named_struct('a', 1, 'b', 'x')) AS t(id, s);

SELECT t.s.*, t.* FROM VALUES (1, named_struct('a', 1, 'b', 'x')) AS t(id, s);

SELECT map_concat(map(1, 'a', 2, 'b'), map(3, 'c')), map_concat(map(1, 'a'), CAST(NULL AS map<int, string>));

SELECT map_concat(map(1, 'a'), map(1, 'b'));

SELECT sequence(to_date('2018-01-01'), to_date('2018-03-01'), interval 1 month), sequence(to_date('2018-01-01'), to_date('2018-03-01'), interval '0-1' year to month);

SELECT sequence(date '2018-01-31', date '2018-04-30', interval 1 month), sequence(date '2018-01-03', date '2018-01-01'), sequence(date '2018-01-01', date '2018-01-10', interval 4 days);

SELECT sequence(date '2018-01-01', date '2018-01-10', interval 4 hours);

-- arrays_zip: structs named after the arguments (a column's name, else its position), as long
-- as the longest array, NULL past a shorter one's end; NULL when an array is NULL.
SELECT arrays_zip(array(1, 2), array(2, 3), array(3, 4)), typeof(arrays_zip(array(1), array('a')));

SELECT arrays_zip(a, b) FROM VALUES (array(1, 2, 3), array('x')), (NULL, array('y')) AS t(a, b);

SELECT arrays_zip(1);

-- sequence over timestamps: a day by default; months and days move the wall clock (of the
-- session zone for TIMESTAMP), a day-time step the instant.
SELECT sequence(timestamp '2018-01-01 00:00:00', timestamp '2018-01-03 00:00:00'), sequence(timestamp '2018-01-03 00:00:00', timestamp '2018-01-01 00:00:00');

SELECT sequence(timestamp_ntz '2018-01-31 00:00:00', timestamp_ntz '2018-04-30 00:00:00', INTERVAL '1' MONTH), typeof(sequence(timestamp_ntz '2018-01-31 00:00:00', timestamp_ntz '2018-04-30 00:00:00', INTERVAL '1' MONTH));

SELECT sequence(timestamp '2019-03-09 12:00:00', timestamp '2019-03-11 12:00:00', CAST('1 day' AS interval)), sequence(timestamp '2019-03-09 12:00:00', timestamp '2019-03-11 12:00:00', INTERVAL '1' DAY), sequence(timestamp '2019-03-09 12:00:00', timestamp '2019-03-10 12:00:00', INTERVAL '12' HOUR);

SELECT sequence(timestamp '2018-01-01 00:00:00', timestamp '2018-01-03 00:00:00', INTERVAL '-1' DAY);
