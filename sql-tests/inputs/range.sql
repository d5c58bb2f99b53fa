-- range(end), range(start, end[, step[, partitions]]): a BIGINT column id, as Spark's Range
-- (its documentation and golden files).

SELECT * FROM range(5);

SELECT * FROM range(2, 12, 3);

SELECT id FROM range(5, 0, -2);

SELECT count(*), sum(id), min(id), max(id) FROM range(1000000);

SELECT count(*), sum(id) FROM range(0, 100, 7, 3);

SELECT x FROM range(3) AS t(x);

SELECT typeof(id) FROM range(1);

SELECT * FROM range(-3);

SELECT a.id, b.id FROM range(3) a JOIN range(1, 4) b ON a.id = b.id ORDER BY a.id;

SELECT * FROM range(1, 10, 0);

SELECT * FROM range(1, 2, 3, 4, 5);

SELECT * FROM range('a');
