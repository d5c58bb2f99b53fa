-- Literals, arithmetic, aliases and Spark's result column names.
SELECT 1, 2.5, 'text', true, NULL;
SELECT 1 + 2 AS three, 10 - 4, 3 * 4, 7 / 2, 7 % 3;
SELECT 7 div 2, -7 div 2;
SELECT 1.5 + 2.25, 0.1 * 3, 10.0 / 4;
SELECT 2147483647, 2147483648, -5;
SELECT 1e3, 2.5E-1;
SELECT 'a' || 'b', concat('x', 'y', 'z');
SELECT upper('ember'), lower('SPARK'), length('hello'), substring('abcdef', 2, 3);
SELECT abs(-3), round(2.567, 2), ceil(1.2), floor(-1.2), sqrt(16.0);
SELECT CASE WHEN 1 > 2 THEN 'no' WHEN 2 > 1 THEN 'yes' ELSE 'never' END;
SELECT CASE 3 WHEN 1 THEN 'one' WHEN 3 THEN 'three' END;
SELECT CASE WHEN false THEN 1 END;
SELECT CAST('42' AS INT), CAST(3.7 AS INT), CAST(5 AS STRING), CAST('2024-02-29' AS DATE);
SELECT CAST(1 AS DECIMAL(10, 2)), CAST('1.239' AS DECIMAL(5, 2));
SELECT TRY_CAST('abc' AS INT);
SELECT 5 BETWEEN 1 AND 10, 5 NOT BETWEEN 1 AND 4, 3 IN (1, 2, 3), 4 NOT IN (1, 2);
SELECT 'apple' LIKE 'a%', 'apple' LIKE '_pple', 'apple' NOT LIKE '%z%';
SELECT NULL IS NULL, 1 IS NOT NULL, NULL = NULL, NULL <=> NULL;
SELECT coalesce(NULL, NULL, 3), nvl(NULL, 'x'), nullif(1, 1), if(1 < 2, 'a', 'b');
SELECT greatest(1, 5, 3), least(4, 2, 8);
SELECT 1 AS a, 2 AS b, a + b;
SELECT id, name FROM (VALUES (1, 'x'), (2, 'y')) AS t(id, name);
SELECT * FROM VALUES (1, 'a'), (2, 'b');
SELECT col1 * 10 FROM VALUES (1), (2), (3);
SELECT NOT true, true AND NULL, false OR NULL, NOT (1 = 2);
SELECT -(3 + 4), +5;
SELECT * EXCEPT (b) FROM VALUES (1, 'x', 2.5), (2, NULL, 3.5) AS t(a, b, c) ORDER BY a;
SELECT * EXCEPT (nosuch) FROM VALUES (1, 2) AS t(a, b);
SELECT version();

-- Spark's cast aliases: int(x) is CAST(x AS INT), named so.
SELECT int('12'), double('1.5'), date('2020-01-02'), decimal('3.7'), string(1), boolean('true'), bigint(2.9), smallint(7), tinyint(-3), float(0.5);

SELECT int('x');

SELECT int(1, 2);
