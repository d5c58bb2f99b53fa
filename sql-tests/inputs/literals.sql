-- Literals as Spark's lexer reads them: typed number suffixes, exponents, decimals, and string escapes.
SELECT 127Y, -128Y, 1S, 2147483648L, 2.5F, 2.5D, 2D, 1BD, 123.08BD, 1.5e3BD;
SELECT typeof(127Y), typeof(1S), typeof(1L), typeof(2.5F), typeof(2.5D), typeof(1BD), typeof(1.5e3BD);
SELECT 127y, 1s, 1l, 2.5f, 2.5d, 1bd;
SELECT 128Y;
SELECT -129Y;
SELECT 32768S;
SELECT 9223372036854775808L;
SELECT 1.5Y;
SELECT 1e3, 1.5e5, 2.5E-1, .5, 0.3, 9223372036854775808, 1e10;
SELECT typeof(1e3), typeof(.5), typeof(9223372036854775808);
SELECT 1234567890123456789012345678901234567890;
SELECT 0.3 F, 0.4 D, 0.5 BD;
SELECT regexp_extract('1a 2b', '\\d+', 0), regexp_extract('1a 2b', '\d+', 0);
SELECT 'a\tb', 'it\'s', 'back\\slash', 'no-pattern\%', 'pattern\\%', '\110\145\154\154\157\041', '\u0057\u006F\u0072\u006C\u0064';
SELECT 'hello' 'world', 'hello' " " 'lee', 'it''s', "hello 'peter'";
SELECT length('\n') AS newline, length('\0') AS nul, ascii('\Z') AS ctrl_z;
SELECT 7 DIV 2 + 1, 1 + 7 DIV 2, 7 DIV 2 * 3;
SELECT 1 + 2 || 3 AS c, 10 - 2 || 'x' AS d;
