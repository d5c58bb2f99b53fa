"""Random query generator for differential testing of Ember (Spark SQL) against DuckDB.

Every query is generated twice from one random walk: once in Spark SQL (what Ember runs) and
once in DuckDB's dialect, with the same meaning. Most of the text is common to both; the few
constructs spelled differently (`LEFT SEMI JOIN` / `SEMI JOIN`, `a <=> b` / `IS NOT DISTINCT
FROM`, `date_add(d, n)` / `d + n`, ...) are rendered per dialect.

The generator stays inside the subset of SQL where Spark (ANSI mode) and DuckDB agree; every
construct it avoids on purpose is listed in README.md ("Known semantic differences") and marked
`KNOWN:` in this file.

Determinism: `generate(seed, index)` depends only on (seed, index); `make_tables(data_seed)`
only on data_seed.
"""

import datetime
import random
import re
from decimal import Decimal

# Type families used while generating. Integral columns are `int` whether INT or BIGINT.
INT, DEC, DBL, STR, DATE, BOOL = "int", "decimal", "double", "string", "date", "boolean"
NUMERIC = (INT, DEC, DBL)
ORDERABLE = (INT, DEC, DBL, STR, DATE)
ALL_TYPES = (INT, DEC, DBL, STR, DATE, BOOL)

# Spark type names (DuckDB accepts all of them too: STRING is an alias of VARCHAR).
SQL_TYPE = {INT: "INT", DEC: "DECIMAL(10,2)", DBL: "DOUBLE", STR: "STRING", DATE: "DATE",
            BOOL: "BOOLEAN"}


# Columns whose values overlap (join and correlation conditions prefer them).
DOMAIN = {"k": "k", "a": "a", "b": "b", "n": "b", "c": "c", "m": "c", "d": "d", "s": "s",
          "v": "s", "dt": "dt", "w": "dt"}


def family_ok(a, b):
    """Can values of types a and b be compared / unified (CASE branches, set operations)?"""
    if a in NUMERIC and b in NUMERIC:
        return True
    return a == b


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

class Column:
    def __init__(self, name, t, exact, big=False):
        self.name, self.t, self.exact, self.big = name, t, exact, big


class Table:
    def __init__(self, name, columns, rows, files=1):
        self.name, self.columns, self.rows, self.files = name, columns, rows, files


STRINGS = ["", "a", "A", "abc", "Abc", "b", "ba", "hello", "x y", " pad ", "zz", "a%b", "_u",
           "Z", "aa", "abcdef"]
DATES = [datetime.date(2023, 12, 31), datetime.date(2024, 1, 1), datetime.date(2024, 1, 15),
         datetime.date(2024, 1, 31), datetime.date(2024, 2, 28), datetime.date(2024, 2, 29),
         datetime.date(2024, 3, 1), datetime.date(2024, 6, 30), datetime.date(2023, 6, 15),
         datetime.date(2024, 12, 31)]
BIGS = [0, 1, 2, 3, 7, -1, 10, 3000000000, -2500000000, 4000000001, 5]


def _wide_rows(rng, n, null_rate=0.15):
    """Rows for (a INT, b BIGINT, c DECIMAL(10,2), d DOUBLE, s STRING, dt DATE, k INT)."""
    def maybe(v):
        return None if rng.random() < null_rate else v
    rows = []
    for _ in range(n):
        rows.append((
            maybe(rng.randint(-5, 20)),
            maybe(rng.choice(BIGS)),
            maybe(Decimal(rng.randint(-2000, 9999)) / 100 if rng.random() < 0.6
                  else Decimal(rng.choice([0, 1, 2, -1, 5, 10])) + Decimal(rng.choice(["0", "0.5", "0.25", "0.05"]))),
            # KNOWN: doubles are multiples of 1/4 (exactly representable), never -0.0 or NaN,
            # so sums do not depend on the order of addition and ordering/grouping is exact.
            maybe(rng.randint(-80, 80) / 4.0 if rng.random() < 0.8 else float(rng.randint(0, 3))),
            maybe(rng.choice(STRINGS)),
            maybe(rng.choice(DATES)),
            maybe(rng.randint(0, 4)),
        ))
    return rows


def make_tables(data_seed=0):
    """The tables every query runs over. Deterministic in data_seed."""
    rng = random.Random(f"difftest-data:{data_seed}")
    wide = lambda: [Column("a", INT, "INT"), Column("b", INT, "BIGINT", big=True),
                    Column("c", DEC, "DECIMAL(10,2)"), Column("d", DBL, "DOUBLE"),
                    Column("s", STR, "STRING"), Column("dt", DATE, "DATE"),
                    Column("k", INT, "INT")]
    t1 = _wide_rows(rng, 22)
    t1.append((None, None, None, None, None, None, None))          # all-NULL row
    t1.append((0, 0, Decimal("0.00"), 0.0, "", DATES[0], 0))       # zeros and the empty string
    t1 += [t1[1], t1[1], t1[3]]                                     # duplicate rows
    rng.shuffle(t1)
    t2 = _wide_rows(rng, 14, null_rate=0.2)
    t2.append(t2[0])
    t2.append((1, 1, Decimal("1.00"), 1.0, "a", DATES[1], 1))
    rng.shuffle(t2)
    small = lambda: [Column("k", INT, "INT"), Column("v", STR, "STRING"),
                     Column("n", INT, "BIGINT", big=True), Column("m", DEC, "DECIMAL(10,2)"),
                     Column("w", DATE, "DATE")]
    t3 = []
    for kk in [0, 1, 1, 2, 3, None, 4, 2]:
        t3.append((kk, rng.choice(STRINGS + [None]), rng.choice(BIGS + [None]),
                   rng.choice([Decimal("1.50"), Decimal("-2.25"), Decimal("10.00"), None,
                               Decimal("0.00"), Decimal("99.99")]),
                   rng.choice(DATES + [None])))
    t3.append(t3[2])
    return [
        Table("t1", wide(), t1, files=2),
        Table("t2", wide(), t2),
        Table("t3", small(), t3),
        Table("t0", small(), [], files=1),   # the empty table
    ]


def write_parquet(tables, root):
    """Writes each table as Parquet files under root/<name>/ with explicit types."""
    import os
    import pyarrow as pa
    import pyarrow.parquet as pq
    arrow_type = {"INT": pa.int32(), "BIGINT": pa.int64(), "DECIMAL(10,2)": pa.decimal128(10, 2),
                  "DOUBLE": pa.float64(), "STRING": pa.string(), "DATE": pa.date32()}
    for t in tables:
        schema = pa.schema([pa.field(c.name, arrow_type[c.exact], nullable=True) for c in t.columns])
        folder = os.path.join(root, t.name)
        os.makedirs(folder, exist_ok=True)
        for f in os.listdir(folder):
            os.remove(os.path.join(folder, f))
        n = len(t.rows)
        parts = max(1, t.files)
        for p in range(parts):
            chunk = t.rows[p * n // parts:(p + 1) * n // parts]
            cols = [pa.array([r[i] for r in chunk], type=schema.field(i).type)
                    for i in range(len(t.columns))]
            pq.write_table(pa.Table.from_arrays(cols, schema=schema),
                           os.path.join(folder, f"part-{p}.parquet"))


# --------------------------------------------------------------------------------------------
# Expressions: each is rendered in both dialects at once
# --------------------------------------------------------------------------------------------

class X:
    """An expression: Spark text `s`, DuckDB text `d`, type family `t` and a few flags.

    agg: contains an aggregate; win: a window function; sub: a subquery; big: may hold values
    beyond 32 bits (never multiply two of them); mul: multiplication depth (decimal precision
    stays small); inexact: a double that is not exactly representable in both engines the same
    way (division, avg, stddev) -- never a grouping/join key or an argument of round/cast;
    simple: a column or a literal (exact Spark type known)."""

    __slots__ = ("s", "d", "t", "agg", "win", "sub", "big", "mul", "inexact", "simple", "exact",
                 "col", "dom")

    def __init__(self, s, d, t, agg=False, win=False, sub=False, big=False, mul=0,
                 inexact=False, simple=False, exact=None, col=False, dom=None):
        self.s, self.d, self.t = s, d, t
        self.agg, self.win, self.sub, self.big, self.mul = agg, win, sub, big, mul
        self.inexact, self.simple, self.exact, self.col = inexact, simple, exact, col
        self.dom = dom   # value domain of a column reference (joins prefer equal domains)


def same(text, t, **kw):
    return X(text, text, t, **kw)


def comb(tmpl_s, tmpl_d, args, t, **kw):
    """Builds an expression from templates ({0}, {1}, ...) filled with the args' texts."""
    xs = [a for a in args if isinstance(a, X)]
    flags = dict(agg=any(a.agg for a in xs), win=any(a.win for a in xs),
                 sub=any(a.sub for a in xs), big=any(a.big for a in xs),
                 mul=max([a.mul for a in xs] or [0]), inexact=any(a.inexact for a in xs))
    flags.update(kw)
    s = tmpl_s.format(*[a.s if isinstance(a, X) else a for a in args])
    d = (tmpl_d or tmpl_s).format(*[a.d if isinstance(a, X) else a for a in args])
    return X(s, d, t, **flags)


class Rel:
    """A relation in scope: alias and its columns (name, X template)."""

    def __init__(self, alias, cols):
        self.alias = alias
        self.cols = cols  # list of (name, t, exact, big, inexact)

    def refs(self):
        return [X(f"{self.alias}.{n}", f"{self.alias}.{n}", t, big=big, inexact=inex,
                  simple=True, exact=exact, col=True, dom=dom)
                for (n, t, exact, big, inex, dom) in self.cols]


class Ctx:
    """Where an expression is generated.

    mode 'row': columns of scope; 'agg': group keys and aggregates over scope.
    corr: outer columns a subquery generated here may correlate with.
    """

    def __init__(self, scope, mode="row", keys=None, sub_ok=True, depth=0, win_ok=False,
                 grouping_keys=None):
        self.scope = scope
        self.mode = mode
        self.keys = keys or []
        self.sub_ok = sub_ok
        self.depth = depth
        self.win_ok = win_ok
        self.grouping_keys = grouping_keys or []   # keys usable in grouping() (grouping sets)

    def cols(self, t=None):
        out = []
        for r in self.scope:
            for x in r.refs():
                if t is None or x.t == t:
                    out.append(x)
        return out

    def row(self, sub_ok=None):
        return Ctx(self.scope, "row", sub_ok=self.sub_ok if sub_ok is None else sub_ok,
                   depth=self.depth)

    def corr_cols(self):
        """Outer columns a correlated subquery may reference."""
        if self.mode == "row":
            return [c for c in self.cols() if not c.inexact and c.t != BOOL]
        return [k for k in self.keys if k.col and not k.inexact and k.t != BOOL]


class Sel:
    """A generated SELECT (or set operation): both texts and its output columns."""

    def __init__(self, s, d, cols, ordered=False):
        self.s, self.d, self.cols, self.ordered = s, d, cols, ordered  # cols: (name, X)


class Query:
    def __init__(self, seed, index, spark, duck, ordered, tags, variant):
        self.seed, self.index, self.spark, self.duck = seed, index, spark, duck
        self.ordered, self.tags, self.variant = ordered, sorted(tags), variant


# Session variants the runner applies to Ember (settings that must not change results).
VARIANTS = [
    ("default", []),
    ("no-broadcast", ["SET ember.sql.autoBroadcastJoinThreshold = -1",
                      "SET ember.sql.shuffle.partitions = 3"]),
    ("one-partition", ["SET ember.sql.shuffle.partitions = 1"]),
]


class Generator:
    def __init__(self, tables, seed, index):
        self.rng = random.Random(f"difftest:{seed}:{index}")
        self.tables = [t for t in tables]
        self.seed, self.index = seed, index
        self.n_alias = 0
        self.n_name = 0
        self.tags = set()
        self.ctes = []   # (name, Sel)
        # Order-sensitive window functions (row_number, ntile, lag, lead, first/last/nth_value,
        # ROWS frames) order by every column in scope, so ties are only between identical
        # rows. Two of them in one SELECT would pair their values onto identical rows in an
        # engine-dependent way, so at most one per SELECT block.
        self.order_sensitive_used = False

    # -------------------------------------------------------------- helpers
    def chance(self, p):
        return self.rng.random() < p

    def pick(self, xs):
        return xs[self.rng.randrange(len(xs))]

    def wpick(self, pairs):
        total = sum(w for w, _ in pairs)
        r = self.rng.random() * total
        for w, v in pairs:
            r -= w
            if r < 0:
                return v
        return pairs[-1][1]

    def item_depth(self):
        return self.wpick([(30, 0), (45, 1), (25, 2)])

    def alias(self):
        self.n_alias += 1
        return f"x{self.n_alias}"

    def tag(self, t):
        self.tags.add(t)

    # -------------------------------------------------------------- literals
    def literal(self, t, nullable=True):
        if nullable and self.chance(0.06):
            self.tag("null-literal")
            return same(f"CAST(NULL AS {SQL_TYPE[t]})", t, simple=True, exact=SQL_TYPE[t])
        r = self.rng
        if t == INT:
            if self.chance(0.1):
                v = r.choice([3000000000, -2500000000, 4000000001])
                return same(str(v) if v >= 0 else f"({v})", INT, simple=True, big=True,
                            exact="BIGINT")
            v = r.randint(-5, 20)
            return same(str(v) if v >= 0 else f"({v})", INT, simple=True, exact="INT")
        if t == DEC:
            v = r.choice(["0.00", "1.50", "2.25", "10.00", "-3.75", "0.05", "12.34", "99.99",
                          "5.5", "-0.5"])
            return same(v if not v.startswith("-") else f"({v})", DEC, simple=True)
        if t == DBL:
            v = r.randint(-40, 40) / 4.0
            return same(f"CAST({v} AS DOUBLE)", DBL, simple=True, exact="DOUBLE")
        if t == STR:
            v = r.choice(STRINGS + ["c", "hello world", "B"])
            return same("'" + v + "'", STR, simple=True, exact="STRING")
        if t == DATE:
            v = r.choice(DATES + [datetime.date(2024, 2, 1), datetime.date(2024, 1, 10)])
            return same(f"DATE '{v.isoformat()}'", DATE, simple=True, exact="DATE")
        if t == BOOL:
            return same(r.choice(["TRUE", "FALSE"]), BOOL, simple=True, exact="BOOLEAN")
        raise ValueError(t)

    # -------------------------------------------------------------- expressions
    def expr(self, ctx, t, depth=2):
        """An expression of family t valid in ctx."""
        if t == BOOL:
            return self.pred(ctx, depth)
        if depth <= 0 or self.chance(0.35):
            return self.leaf(ctx, t)
        builders = {INT: self.int_expr, DEC: self.dec_expr, DBL: self.dbl_expr,
                    STR: self.str_expr, DATE: self.date_expr}
        r = self.rng.random()
        if r < 0.1:
            return self.case_expr(ctx, t, depth)
        if r < 0.16:
            return self.coalesce_expr(ctx, t, depth)
        if r < 0.2 and ctx.sub_ok and ctx.depth < 2:
            return self.scalar_subquery(ctx, t)
        return builders[t](ctx, depth)

    def leaf(self, ctx, t):
        if ctx.mode == "agg":
            keys = [k for k in ctx.keys if k.t == t]
            r = self.rng.random()
            if keys and r < 0.45:
                return self.pick(keys)
            if r < 0.9:
                a = self.agg_call(ctx, t)
                if a is not None:
                    return a
            return self.literal(t)
        cols = ctx.cols(t)
        if cols and self.chance(0.85):
            return self.pick(cols)
        return self.literal(t)

    def arith(self, a, b, op, t):
        if op == "*":
            if (a.big and b.big) or a.mul + b.mul > 0:
                op = self.pick(["+", "-"])
            else:
                return comb("({0} * {1})", None, [a, b], t, mul=1)
        return comb("({0} " + op + " {1})", None, [a, b], t)

    def small_int_lit(self):
        return same(str(self.rng.randint(1, 5)), INT, simple=True, exact="INT")

    def int_expr(self, ctx, depth):
        r = self.rng.random()
        sub = lambda t=INT: self.expr(ctx, t, depth - 1)
        if r < 0.3:
            a, b = sub(), sub()
            op = self.pick(["+", "-", "*"])
            if op == "*" and not b.simple:
                b = self.small_int_lit()
            return self.arith(a, b, op, INT)
        if r < 0.36:
            return comb("(-({0}))", None, [sub()], INT)
        if r < 0.42:
            return comb("abs({0})", None, [sub()], INT)
        if r < 0.5:
            self.tag("fn:length")
            return comb("length({0})", None, [sub(STR)], INT)
        if r < 0.58:
            f = self.pick(["year", "month", "dayofmonth", "dayofweek", "quarter"])
            self.tag("fn:" + f)
            if f == "dayofweek":   # Spark: 1 = Sunday; DuckDB: 0 = Sunday
                return comb("dayofweek({0})", "(dayofweek({0}) + 1)", [sub(DATE)], INT)
            return comb(f + "({0})", None, [sub(DATE)], INT)
        if r < 0.63:
            # KNOWN: % with a positive literal divisor only; the result's sign follows the
            # dividend in both engines, and a zero divisor is never generated.
            self.tag("op:mod")
            return comb("({0} % {1})", None, [sub(), str(self.rng.randint(2, 5))], INT)
        if r < 0.68:
            self.tag("op:div")   # Spark `div` truncates toward zero, as DuckDB's `//` on ints
            return comb("({0} div {1})", "({0} // {1})", [sub(), str(self.rng.randint(2, 4))],
                        INT)
        if r < 0.73:
            self.tag("fn:datediff")
            return comb("datediff({0}, {1})", "date_diff('day', {1}, {0})",
                        [sub(DATE), sub(DATE)], INT)
        if r < 0.78:
            self.tag("fn:instr")
            return comb("instr({0}, {1})", None,
                        [sub(STR), "'" + self.pick(["a", "b", "l", "z", "ab"]) + "'"], INT)
        if r < 0.83:
            a, b = sub(), sub()
            f = self.pick(["greatest", "least"])
            self.tag("fn:" + f)
            return comb(f + "({0}, {1})", None, [a, b], INT)
        if r < 0.87:
            self.tag("fn:nullif")
            return comb("nullif({0}, {1})", None, [sub(), sub()], INT)
        if r < 0.92 and ctx.mode == "agg" and ctx.grouping_keys:
            self.tag("fn:grouping")
            return comb("grouping({0})", None, [self.pick(ctx.grouping_keys)], INT)
        if r < 0.96:
            self.tag("cast:bigint")
            # CAST(bigint expression AS INT) may overflow: an error in both engines.
            src = sub()
            return comb("CAST({0} AS BIGINT)", None, [src], INT)
        return self.leaf(ctx, INT)

    def dec_expr(self, ctx, depth):
        r = self.rng.random()
        sub = lambda t=DEC: self.expr(ctx, t, depth - 1)
        if r < 0.4:
            a = sub()
            b = sub(self.pick([DEC, DEC, INT]))
            op = self.pick(["+", "-", "*"])
            return self.arith(a, b, op, DEC)
        if r < 0.5:
            x = sub(INT)
            self.tag("cast:int-dec")
            return comb("CAST({0} AS DECIMAL(12,2))", None, [x], DEC)
        if r < 0.6:
            x = sub()
            if x.inexact:
                return x
            self.tag("fn:round")
            # KNOWN: round() only on decimals (HALF_UP in Spark, half away from zero in DuckDB:
            # the same); never on inexact doubles.
            return comb("round({0}, {1})", None, [x, str(self.rng.randint(0, 1))], DEC)
        if r < 0.67:
            return comb("abs({0})", None, [sub()], DEC)
        if r < 0.72:
            return comb("(-({0}))", None, [sub()], DEC)
        if r < 0.78:
            f = self.pick(["ceil", "floor"])
            self.tag("fn:" + f)
            return comb(f + "({0})", None, [sub()], DEC)
        if r < 0.84:
            x = self.expr(ctx, DBL, depth - 1)
            if x.inexact:
                return sub()
            self.tag("cast:dbl-dec")
            return comb("CAST({0} AS DECIMAL(12,2))", None, [x], DEC)
        if r < 0.9:
            f = self.pick(["greatest", "least"])
            self.tag("fn:" + f)
            return comb(f + "({0}, {1})", None, [self.dwide(sub()), self.dwide(sub())], DEC)
        return self.leaf(ctx, DEC)

    def dbl_expr(self, ctx, depth):
        r = self.rng.random()
        if r < 0.25:
            src = self.expr(ctx, self.pick([INT, DEC, DBL]), depth - 1)
            self.tag("cast:to-double")
            return comb("CAST({0} AS DOUBLE)", None, [src], DBL)
        if r < 0.45:
            # KNOWN: division by zero raises in Spark (ANSI) and gives +-inf/NULL in DuckDB:
            # every divisor goes through NULLIF(x, 0). Integer / integer is a double in both;
            # decimal / decimal is cast to double first (DuckDB's decimal division gives a
            # double, Spark's a decimal with its own scale rules).
            self.tag("op:divide")
            ta = self.pick([INT, INT, DEC, DBL])
            a = self.expr(ctx, ta, depth - 1)
            b = self.expr(ctx, self.pick([INT, DEC, DBL]), depth - 1)
            if ta == INT and b.t == INT:
                return comb("({0} / NULLIF({1}, 0))", None, [a, b], DBL, inexact=True)
            return comb("(CAST({0} AS DOUBLE) / NULLIF(CAST({1} AS DOUBLE), 0))", None, [a, b],
                        DBL, inexact=True)
        if r < 0.65:
            a, b = self.expr(ctx, DBL, depth - 1), self.expr(ctx, self.pick([DBL, INT]), depth - 1)
            # KNOWN: no multiplication of doubles (0.0 * negative = -0.0, whose ordering and
            # grouping differ between engines).
            return self.arith(a, b, self.pick(["+", "-"]), DBL)
        if r < 0.72:
            return comb("abs({0})", None, [self.expr(ctx, DBL, depth - 1)], DBL)
        return self.leaf(ctx, DBL)

    def str_expr(self, ctx, depth):
        r = self.rng.random()
        sub = lambda t=STR: self.expr(ctx, t, depth - 1)
        if r < 0.14:
            f = self.pick(["upper", "lower"])
            self.tag("fn:" + f)
            return comb(f + "({0})", None, [sub()], STR)
        if r < 0.26:
            self.tag("fn:substring")
            # KNOWN: substring with a position >= 1 and a length >= 0 only (Spark treats
            # position 0 as 1 and negative positions from the end differently).
            return comb("substring({0}, {1}, {2})", None,
                        [sub(), str(self.rng.randint(1, 4)), str(self.rng.randint(0, 4))], STR)
        if r < 0.38:
            self.tag("op:concat")
            # KNOWN: `||` only (NULL if any side is NULL in both); DuckDB's concat() skips NULLs
            # where Spark's returns NULL.
            return comb("({0} || {1})", None, [sub(), sub()], STR)
        if r < 0.46:
            self.tag("fn:trim")
            f = self.pick(["trim", "ltrim", "rtrim"])
            return comb(f + "({0})", None, [sub()], STR)
        if r < 0.58:
            src = self.expr(ctx, self.pick([INT, DATE, DEC, STR]), depth - 1)
            if src.t == DEC and src.exact != "DECIMAL(10,2)":   # base-table columns only
                src = self.leaf(ctx, INT)
            # KNOWN: no CAST(double AS STRING) (Spark prints 1.0E10, DuckDB 10000000000.0), and
            # decimals only from columns (the scale of derived decimals differs by engine).
            self.tag("cast:to-string")
            return comb("CAST({0} AS STRING)", None, [src], STR)
        if r < 0.66:
            self.tag("fn:replace")
            return comb("replace({0}, {1}, {2})", None,
                        [sub(), "'" + self.pick(["a", "b", " ", "ab"]) + "'",
                         "'" + self.pick(["", "X", "yy"]) + "'"], STR)
        if r < 0.72:
            f = self.pick(["lpad", "rpad"])
            self.tag("fn:" + f)
            return comb(f + "({0}, {1}, {2})", None,
                        [sub(), str(self.rng.randint(0, 6)), "'" + self.pick(["*", "-=", "0"]) + "'"],
                        STR)
        if r < 0.78:
            f = self.pick(["left", "right"])
            self.tag("fn:" + f)
            return comb(f + "({0}, {1})", None, [sub(), str(self.rng.randint(0, 3))], STR)
        if r < 0.82:
            self.tag("fn:reverse")
            return comb("reverse({0})", None, [sub()], STR)
        if r < 0.86:
            f = self.pick(["greatest", "least"])
            self.tag("fn:" + f)
            return comb(f + "({0}, {1})", None, [sub(), sub()], STR)
        return self.leaf(ctx, STR)

    def date_expr(self, ctx, depth):
        r = self.rng.random()
        sub = lambda t=DATE: self.expr(ctx, t, depth - 1)
        if r < 0.3:
            # Spark's date_add/date_sub take an INT: a column declared INT or a literal.
            ints = [c for c in ctx.cols(INT) if c.exact == "INT"] if ctx.mode == "row" else []
            k = self.rng.randint(-40, 40)
            n = self.pick(ints) if ints and self.chance(0.4) else same(str(k) if k >= 0 else f"({k})", INT)
            f = self.pick(["date_add", "date_sub"])
            self.tag("fn:" + f)
            n_d = n.d if not n.d.startswith("-") else f"({n.d})"
            return comb(f + "({0}, {1})", "({0} " + ("+" if f == "date_add" else "-") + " {1})",
                        [sub(), X(n.s, n_d, INT, simple=n.simple)], DATE)
        if r < 0.4:
            self.tag("fn:last_day")
            return comb("last_day({0})", None, [sub()], DATE)
        if r < 0.5:
            unit = self.pick([("MM", "month"), ("YEAR", "year")])
            self.tag("fn:trunc")
            return comb("trunc({0}, '" + unit[0] + "')",
                        "CAST(date_trunc('" + unit[1] + "', {0}) AS DATE)", [sub()], DATE)
        if r < 0.58:
            self.tag("fn:add_months")
            k = self.rng.randint(-13, 13)
            return comb("add_months({0}, " + str(k) + ")",
                        "CAST(({0} + to_months(" + str(k) + ")) AS DATE)", [sub()], DATE)
        if r < 0.64:
            f = self.pick(["greatest", "least"])
            self.tag("fn:" + f)
            return comb(f + "({0}, {1})", None, [sub(), sub()], DATE)
        return self.leaf(ctx, DATE)

    def case_expr(self, ctx, t, depth):
        self.tag("case")
        n = self.rng.randint(1, 3)
        if self.chance(0.25):
            # simple CASE
            base = self.expr(ctx, self.pick([INT, STR]), depth - 1)
            parts_s, parts_d = [f"CASE {base.s}"], [f"CASE {base.d}"]
            xs = [base]
            for _ in range(n):
                w = self.literal(base.t, nullable=False)
                v = self.dwide(self.expr(ctx, t, depth - 1))
                xs += [w, v]
                parts_s.append(f"WHEN {w.s} THEN {v.s}")
                parts_d.append(f"WHEN {w.d} THEN {v.d}")
        else:
            parts_s, parts_d, xs = ["CASE"], ["CASE"], []
            for _ in range(n):
                c = self.pred(ctx, depth - 1)
                v = self.dwide(self.expr(ctx, t, depth - 1))
                xs += [c, v]
                parts_s.append(f"WHEN {c.s} THEN {v.s}")
                parts_d.append(f"WHEN {c.d} THEN {v.d}")
        if self.chance(0.7):
            e = self.dwide(self.expr(ctx, t, depth - 1))
            xs.append(e)
            parts_s.append(f"ELSE {e.s}")
            parts_d.append(f"ELSE {e.d}")
        parts_s.append("END")
        parts_d.append("END")
        return self._wrap(" ".join(parts_s), " ".join(parts_d), xs, t)

    @staticmethod
    def dwide(x):
        """x with its DuckDB text cast to DECIMAL(38,4) when it is a decimal.

        KNOWN: where values of several decimal types are unified (CASE, coalesce, greatest,
        set operations), DuckDB picks DECIMAL(38, lower scale) once the wider type needs more
        than 38 digits -- and its sum(decimal) is always DECIMAL(38, s) -- so it rounds;
        Spark keeps the larger scale (decimal(38, s) at most). Generated decimals have a
        scale <= 4, so DECIMAL(38,4) holds them exactly in DuckDB."""
        if x.t != DEC:
            return x
        return X(x.s, f"CAST({x.d} AS DECIMAL(38,4))", x.t, agg=x.agg, win=x.win, sub=x.sub,
                 big=x.big, mul=x.mul, inexact=x.inexact, simple=x.simple, exact=x.exact,
                 col=x.col, dom=x.dom)

    def _wrap(self, s, d, xs, t, **kw):
        flags = dict(agg=any(a.agg for a in xs), win=any(a.win for a in xs),
                     sub=any(a.sub for a in xs), big=any(a.big for a in xs),
                     mul=max([a.mul for a in xs] or [0]), inexact=any(a.inexact for a in xs))
        flags.update(kw)
        return X(s, d, t, **flags)

    def coalesce_expr(self, ctx, t, depth):
        n = self.rng.randint(2, 3)
        xs = [self.expr(ctx, t, depth - 1) for _ in range(n - 1)] + [self.literal(t, nullable=False)]
        xs = [self.dwide(x) for x in xs]
        f = self.pick(["coalesce", "coalesce", "nvl", "if"])
        if f == "nvl":
            self.tag("fn:nvl")
            return self._wrap(f"nvl({xs[0].s}, {xs[-1].s})", f"coalesce({xs[0].d}, {xs[-1].d})",
                              [xs[0], xs[-1]], t)
        if f == "if":
            self.tag("fn:if")
            c = self.pred(ctx, depth - 1)
            return self._wrap(f"if({c.s}, {xs[0].s}, {xs[-1].s})",
                              f"(CASE WHEN {c.d} THEN {xs[0].d} ELSE {xs[-1].d} END)",
                              [c, xs[0], xs[-1]], t)
        self.tag("fn:coalesce")
        return self._wrap("coalesce(" + ", ".join(x.s for x in xs) + ")",
                          "coalesce(" + ", ".join(x.d for x in xs) + ")", xs, t)

    # -------------------------------------------------------------- predicates
    def pred(self, ctx, depth=2):
        r = self.rng.random()
        if depth > 0 and r < 0.18:
            a, b = self.pred(ctx, depth - 1), self.pred(ctx, depth - 1)
            op = self.pick(["AND", "OR"])
            return comb("({0} " + op + " {1})", None, [a, b], BOOL)
        if depth > 0 and r < 0.23:
            return comb("(NOT {0})", None, [self.pred(ctx, depth - 1)], BOOL)
        if ctx.sub_ok and ctx.depth < 2 and r < 0.33:
            return self.subquery_pred(ctx)
        t = self.pick([INT, INT, DEC, DBL, STR, STR, DATE])
        avail = sorted({c.t for c in ctx.cols()} - {BOOL})
        if avail and self.chance(0.85):
            t = self.pick(avail)
        a = self.expr(ctx, t, max(0, depth - 1))
        r = self.rng.random()
        if r < 0.5:
            bt = t if t not in NUMERIC else self.pick([t, t, INT, DEC])
            b = self.expr(ctx, bt, max(0, depth - 1)) if self.chance(0.6) else self.literal(bt)
            op = self.pick(["=", "<>", "<", "<=", ">", ">=", "<=>", "!="])
            # KNOWN (see dwide): DuckDB compares decimals whose common type needs more than 38
            # digits at the lower scale.
            a, b = self.dwide(a), self.dwide(b)
            if op == "<=>":
                self.tag("op:null-safe-eq")
                return comb("({0} <=> {1})", "({0} IS NOT DISTINCT FROM {1})", [a, b], BOOL)
            return comb("({0} " + op + " {1})", None, [a, b], BOOL)
        if r < 0.62:
            op = self.pick(["IS NULL", "IS NOT NULL"])
            return comb("({0} " + op + ")", None, [a], BOOL)
        if r < 0.72:
            lo, hi = self.literal(t, nullable=False), self.literal(t, nullable=False)
            neg = "NOT " if self.chance(0.25) else ""
            self.tag("op:between")
            return comb("({0} " + neg + "BETWEEN {1} AND {2})", None,
                        [self.dwide(a), self.dwide(lo), self.dwide(hi)], BOOL)
        if r < 0.85:
            items = [self.literal(t) for _ in range(self.rng.randint(1, 4))]
            neg = "NOT " if self.chance(0.3) else ""
            self.tag("op:in-list")
            return comb("({0} " + neg + "IN (" + ", ".join("{%d}" % (i + 1) for i in range(len(items))) + "))",
                        None, [self.dwide(x) for x in [a] + items], BOOL)
        if t == STR or self.chance(0.5):
            s = a if t == STR else self.expr(ctx, STR, 0)
            # KNOWN: LIKE patterns never contain a backslash (Spark's default escape character).
            pat = self.pick(["a%", "%a%", "%c", "_", "__%", "", "%", "A%", "%b_", "hello", "%u",
                             "a_b"])
            neg = "NOT " if self.chance(0.25) else ""
            self.tag("op:like")
            return comb("({0} " + neg + "LIKE '" + pat + "')", None, [s], BOOL)
        return comb("({0} IS NOT NULL)", None, [a], BOOL)

    # -------------------------------------------------------------- aggregates
    def agg_arg(self, ctx, t, depth=1):
        return self.expr(Ctx(ctx.scope, "row", sub_ok=False, depth=ctx.depth), t, depth)

    def agg_call(self, ctx, t):
        """An aggregate call of family t over ctx.scope's rows (None if impossible)."""
        r = self.rng.random()
        filt = ""
        filt_x = []
        if self.chance(0.08):
            f = self.agg_arg(ctx, BOOL, 1)
            filt = " FILTER (WHERE {%d})"
            filt_x = [f]
            self.tag("agg:filter")

        def call(name, arg=None, distinct=False, rt=t, duck_cast=None, **kw):
            dist = "DISTINCT " if distinct else ""
            if distinct:
                self.tag("agg:distinct")
            self.tag("agg:" + name)
            if arg is None:
                tmpl = name + "(*)"
                args = []
            else:
                tmpl = name + "(" + dist + "{0})"
                args = [arg]
            if filt:
                tmpl += filt % len(args)
                args = args + filt_x
            dtmpl = f"CAST({tmpl} AS {duck_cast})" if duck_cast else None
            x = comb(tmpl, dtmpl, args, rt, **kw)
            x.agg = True
            x.win = False
            return x

        if t == INT:
            if r < 0.3:
                return call("count")
            if r < 0.5:
                return call("count", self.agg_arg(ctx, self.pick(ALL_TYPES)), self.chance(0.4))
            if r < 0.75:
                a = self.agg_arg(ctx, INT)
                return call("sum", a, self.chance(0.15), big=True)
            if r < 0.9:
                return call(self.pick(["min", "max"]), self.agg_arg(ctx, INT))
            p = self.agg_arg(ctx, BOOL, 1)
            self.tag("agg:count_if")
            # KNOWN: DuckDB's count_if is NULL over no rows; Spark's is count(NULLIF(p, false))
            x = comb("count_if({0})", "count(CASE WHEN {0} THEN 1 END)", [p], INT)
            x.agg = True
            return x
        if t == DEC:
            a = self.agg_arg(ctx, DEC)
            if a.inexact:
                return None
            if r < 0.5:
                return call("sum", a, self.chance(0.15))
            return call(self.pick(["min", "max"]), a)
        if t == DBL:
            if r < 0.45:
                # KNOWN: avg of decimals is a decimal in Spark (scale + 4, HALF_UP) and a double
                # in DuckDB: the runner compares a decimal with a double up to the decimal's
                # last digit.
                # Where the average is used next to a double or in a UNION with one, Spark
                # reads the rounded decimal as a double: DuckDB's average of a base-table
                # DECIMAL(10,2) column is cast to Spark's DECIMAL(14,6); averages of other
                # decimal expressions (whose Spark scale the generator does not track) are
                # averages of doubles in both texts.
                a = self.agg_arg(ctx, self.pick([INT, DEC, DBL]))
                if a.t == DEC and a.exact == "DECIMAL(10,2)":
                    return call("avg", a, self.chance(0.1), duck_cast="DECIMAL(38,6)",
                                inexact=True)
                if a.t == DEC:
                    a = comb("CAST({0} AS DOUBLE)", None, [a], DBL)
                return call("avg", a, self.chance(0.1), inexact=True)
            if r < 0.7:
                return call("sum", self.agg_arg(ctx, DBL))
            if r < 0.85:
                return call(self.pick(["min", "max"]), self.agg_arg(ctx, DBL))
            a = self.agg_arg(ctx, self.pick([INT, DBL]))
            if a.big:   # KNOWN: huge values make the variance algorithms' rounding differ
                return call("avg", a, inexact=True)
            f = self.pick(["stddev", "variance", "stddev_samp", "var_samp", "stddev_pop",
                           "var_pop"])
            return call(f, a, inexact=True)
        if t in (STR, DATE):
            return call(self.pick(["min", "max"]), self.agg_arg(ctx, t))
        return None

    # -------------------------------------------------------------- subqueries
    def sub_relation(self, ctx):
        """A relation for a subquery's FROM: a base table or a CTE."""
        return self.relation(ctx.depth + 1, allow_derived=False)

    def partner(self, cands, other):
        """A column of cands to compare with `other`, preferring the same value domain."""
        cands = [c for c in cands if family_ok(c.t, other.t)]
        if not cands:
            return None
        same_dom = [c for c in cands if c.dom is not None and c.dom == other.dom]
        if same_dom and self.chance(0.8):
            return self.pick(same_dom)
        return self.pick(cands)

    def correlate(self, ctx, inner_scope, force=False):
        """Equality conditions tying the subquery's relation to the outer query's columns."""
        outer = ctx.corr_cols()
        if not outer or not (force or self.chance(0.6)):
            return []
        inner = [c for r in inner_scope for c in r.refs() if not c.inexact and c.t != BOOL]
        conds = []
        for _ in range(1 if self.chance(0.8) else 2):
            o = self.pick(outer)
            i = self.partner(inner, o)
            if i is None:
                continue
            conds.append(comb("({0} = {1})", None, [i, o], BOOL))
        if conds and self.chance(0.05):
            # a non-equality correlation next to the equality one
            o = self.pick(outer)
            cands = [c for c in inner if family_ok(c.t, o.t) and c.t != BOOL]
            if cands:
                i = self.pick(cands)
                op = self.pick(["<", ">", "<>", ">="])
                conds.append(comb("({0} " + op + " {1})", None, [i, o], BOOL))
                self.tag("subq:non-equi-corr")
        if conds:
            self.tag("subq:correlated")
        return conds

    def sub_where(self, ctx, inner_scope, conds):
        ictx = Ctx(inner_scope, "row", sub_ok=self.chance(0.3), depth=ctx.depth + 1)
        parts = list(conds)
        if self.chance(0.5) or not parts:
            if self.chance(0.8):
                parts.append(self.pred(ictx, 1))
        if not parts:
            return "", "", ictx
        s = " WHERE " + " AND ".join(p.s for p in parts)
        d = " WHERE " + " AND ".join(p.d for p in parts)
        return s, d, ictx

    def subquery_pred(self, ctx):
        kind = self.pick(["exists", "not exists", "in", "not in", "in", "exists"])
        rel = self.sub_relation(ctx)
        inner = [rel]
        conds = self.correlate(ctx, inner, force=kind.endswith("exists") and self.chance(0.7))
        ws, wd, ictx = self.sub_where(ctx, inner, conds)
        self.tag("subq:" + kind.replace(" ", "-"))
        if kind.endswith("exists"):
            if self.chance(0.2):
                # EXISTS over a grouped subquery
                k = self.pick([c for c in ictx.cols() if not c.inexact] or ictx.cols())
                g = self.agg_call(Ctx(inner, "agg", depth=ctx.depth + 1), INT)
                body_s = f"SELECT {k.s} FROM {rel.src_s}{ws} GROUP BY {k.s} HAVING ({g.s} > 1)"
                body_d = f"SELECT {k.d} FROM {rel.src_d}{wd} GROUP BY {k.d} HAVING ({g.d} > 1)"
            else:
                body_s = f"SELECT 1 FROM {rel.src_s}{ws}"
                body_d = f"SELECT 1 FROM {rel.src_d}{wd}"
            neg = "NOT " if kind.startswith("not") else ""
            return X(f"({neg}EXISTS ({body_s}))", f"({neg}EXISTS ({body_d}))", BOOL, sub=True)
        # IN / NOT IN
        t = self.pick([INT, INT, STR, DATE, DEC])
        lhs = self.expr(ctx.row(sub_ok=False) if ctx.mode == "row" else
                        Ctx(ctx.scope, "agg", keys=ctx.keys, sub_ok=False, depth=ctx.depth),
                        t, 1)
        if self.chance(0.15):
            self.tag("subq:in-grouped")
            item = self.agg_call(Ctx(inner, "agg", depth=ctx.depth + 1), t)
            if item is None:
                item = self.expr(ictx.row(sub_ok=False), t, 1)
                grp_s = grp_d = ""
            else:
                k = self.pick([c for c in ictx.cols() if not c.inexact] or ictx.cols())
                grp_s, grp_d = f" GROUP BY {k.s}", f" GROUP BY {k.d}"
        else:
            item = self.expr(ictx.row(sub_ok=False), t, 1)
            grp_s = grp_d = ""
        dist = "DISTINCT " if self.chance(0.2) else ""
        neg = "NOT " if kind.startswith("not") else ""
        lhs, item = self.dwide(lhs), self.dwide(item)
        s = f"({lhs.s} {neg}IN (SELECT {dist}{item.s} FROM {rel.src_s}{ws}{grp_s}))"
        d = f"({lhs.d} {neg}IN (SELECT {dist}{item.d} FROM {rel.src_d}{wd}{grp_d}))"
        return X(s, d, BOOL, sub=True, agg=lhs.agg)

    def scalar_subquery(self, ctx, t):
        rel = self.sub_relation(ctx)
        inner = [rel]
        conds = self.correlate(ctx, inner)
        ws, wd, ictx = self.sub_where(ctx, inner, conds)
        actx = Ctx(inner, "agg", depth=ctx.depth + 1)
        self.tag("subq:scalar")
        if not conds and self.chance(0.15) and t in ORDERABLE:
            # an uncorrelated top-1
            item = self.expr(ictx.row(sub_ok=False), t, 1)
            if not item.inexact:
                self.tag("subq:scalar-limit")
                direction = self.pick(["ASC", "DESC"])
                nulls = self.pick(["NULLS FIRST", "NULLS LAST"])
                s = f"(SELECT {item.s} FROM {rel.src_s}{ws} ORDER BY 1 {direction} {nulls} LIMIT 1)"
                d = f"(SELECT {item.d} FROM {rel.src_d}{wd} ORDER BY 1 {direction} {nulls} LIMIT 1)"
                return X(s, d, t, sub=True, big=item.big)
        item = self.agg_call(actx, t)
        if item is None:
            item = self.agg_call(actx, INT)
            t = INT
        if self.chance(0.2) and t == INT:
            item = comb("({0} + 1)", None, [item], INT, agg=True)
        s = f"(SELECT {item.s} FROM {rel.src_s}{ws})"
        d = f"(SELECT {item.d} FROM {rel.src_d}{wd})"
        return X(s, d, t, sub=True, big=item.big, inexact=item.inexact)

    # -------------------------------------------------------------- window functions
    def total_order(self, ctx):
        """ORDER BY every column in scope: ties only between identical rows."""
        cols = [c for c in ctx.cols()]
        self.rng.shuffle(cols)
        cols.sort(key=lambda c: c.inexact)   # inexact last
        return [self.order_item(c) for c in cols]

    def order_item(self, x):
        d = self.pick(["ASC", "DESC"])
        n = self.pick(["NULLS FIRST", "NULLS LAST"])
        return (f"{x.s} {d} {n}", f"{x.d} {d} {n}")

    def window(self, ctx, t):
        """A window function of family t over ctx (row mode: columns; agg mode: aggregates)."""
        if ctx.mode == "agg":
            parts_pool = [k for k in ctx.keys if not k.inexact]
            total_items = [self.order_item(k) for k in ctx.keys if not k.inexact]
            exact_total = len(total_items) == len(ctx.keys) and len(total_items) > 0
            val = lambda tt: self.expr(Ctx(ctx.scope, "agg", keys=ctx.keys, sub_ok=False,
                                           depth=ctx.depth), tt, 1)
        else:
            parts_pool = [c for c in ctx.cols() if not c.inexact]
            total_items = self.total_order(ctx)
            exact_total = True
            val = lambda tt: self.expr(ctx.row(sub_ok=False), tt, 1)
        part = []
        if parts_pool and self.chance(0.6):
            part = [self.pick(parts_pool) for _ in range(self.rng.randint(1, 2))]
            # no repeated partition key: DuckDB 1.5 computes a window with `PARTITION BY n, n`
            # next to one with `PARTITION BY c, n` wrongly (every row gets one partition's value)
            part = [p for i, p in enumerate(part) if all(p.s != q.s for q in part[:i])]
        part_s = ("PARTITION BY " + ", ".join(p.s for p in part)) if part else ""
        part_d = ("PARTITION BY " + ", ".join(p.d for p in part)) if part else ""

        def spec(order, frame=""):
            os_ = ", ".join(o[0] for o in order)
            od = ", ".join(o[1] for o in order)
            s = " ".join(x for x in [part_s, ("ORDER BY " + os_) if order else "", frame] if x)
            d = " ".join(x for x in [part_d, ("ORDER BY " + od) if order else "", frame] if x)
            return s, d

        def loose_order():
            keys = [val(self.pick([INT, STR, DATE, DEC])) for _ in range(self.rng.randint(1, 2))]
            # no constant sort keys (a bare integer could read as an ordinal)
            keys = [k for k in keys if not k.inexact and not (k.simple and not k.col)]
            if not keys:
                if parts_pool:
                    keys = [self.pick(parts_pool)]
                elif ctx.mode == "agg":
                    keys = [comb("count(*)", None, [], INT, agg=True)]
                else:
                    keys = [self.pick(ctx.cols())]
            return [self.order_item(k) for k in keys]

        def mk(fs, fd, args, rt, **kw):
            x = comb(fs, fd, args, rt, **kw)
            x.win = True
            return x

        r = self.rng.random()
        if self.order_sensitive_used:
            exact_total = False
        if t == INT and r < 0.45:
            kind = self.pick(["row_number", "rank", "dense_rank", "ntile"])
            self.tag("win:" + kind)
            if kind in ("row_number", "ntile"):
                if not exact_total:
                    kind = "rank"
                    order = loose_order()
                else:
                    order = total_items
                    self.order_sensitive_used = True
            else:
                order = loose_order()
            s, d = spec(order)
            arg = str(self.rng.randint(1, 4)) if kind == "ntile" else ""
            return mk(f"{kind}({arg}) OVER ({s})", f"{kind}({arg}) OVER ({d})", [], INT)
        if t == DBL and r < 0.3:
            kind = self.pick(["percent_rank", "cume_dist"])
            self.tag("win:" + kind)
            s, d = spec(loose_order())
            return mk(f"{kind}() OVER ({s})", f"{kind}() OVER ({d})", [], DBL, inexact=True)
        if r < 0.65 and exact_total:
            kind = self.pick(["lag", "lead", "first_value", "last_value", "nth_value"])
            self.tag("win:" + kind)
            self.order_sensitive_used = True
            v = val(t)
            extra = ""
            if kind in ("lag", "lead"):
                off = self.rng.randint(1, 2)
                extra = f", {off}"
                if v.col and v.exact and self.chance(0.4):
                    lit = self.literal(t, nullable=False)
                    extra += f", CAST({lit.s} AS {v.exact})"
                    self.tag("win:lag-default")
                frame = ""
            else:
                if kind == "nth_value":
                    extra = f", {self.rng.randint(1, 3)}"
                frame = self.pick(["", "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
                                   "ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING",
                                   "ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING"])
            s, d = spec(total_items, frame)
            return mk(f"{kind}({{0}}{extra}) OVER ({s})", f"{kind}({{0}}{extra}) OVER ({d})",
                      [v], t)
        # an aggregate over a window
        if ctx.mode == "agg":
            inner = self.agg_call(ctx, t)
            if inner is None:
                inner = self.agg_call(ctx, INT)
                t = INT
            fname = {INT: self.pick(["sum", "min", "max", "count"]),
                     DEC: self.pick(["sum", "min", "max"]), DBL: self.pick(["sum", "avg", "max"]),
                     STR: self.pick(["min", "max"]), DATE: self.pick(["min", "max"])}[t]
            arg = inner
        else:
            fname = {INT: self.pick(["sum", "min", "max", "count", "count"]),
                     DEC: self.pick(["sum", "min", "max"]),
                     DBL: self.pick(["sum", "avg", "max", "min"]),
                     STR: self.pick(["min", "max", "count"]),
                     DATE: self.pick(["min", "max"])}[t]
            arg = val(t if fname != "count" else self.pick(ALL_TYPES))
            if fname == "count":
                t = INT
        if arg.inexact and fname in ("min", "max"):
            fname = "sum" if t in NUMERIC else fname
        self.tag("win:agg-" + fname)
        fr = self.rng.random()
        if fr < 0.25:
            s, d = spec([])
        elif fr < 0.5:
            s, d = spec(loose_order())
        elif fr < 0.85 and exact_total:
            frame = self.pick(["ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING",
                               "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
                               "ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING",
                               "ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING",
                               "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
                               "ROWS 1 PRECEDING"])
            if frame == "ROWS 1 PRECEDING":
                # Spark's shorthand; DuckDB needs BETWEEN
                self.tag("win:rows-shorthand")
                s, _ = spec(total_items, frame)
                _, d = spec(total_items, "ROWS BETWEEN 1 PRECEDING AND CURRENT ROW")
            else:
                s, d = spec(total_items, frame)
            self.tag("win:rows-frame")
            self.order_sensitive_used = True
        else:
            # RANGE frame with numeric offsets over one INT column (row mode only)
            ints = [c for c in ctx.cols(INT) if c.exact == "INT"] if ctx.mode == "row" else []
            if not ints:
                ints = [None]
            key = self.pick(ints)
            lo = self.pick(["UNBOUNDED PRECEDING", "1 PRECEDING", "2 PRECEDING", "CURRENT ROW"])
            hi = self.pick(["CURRENT ROW", "1 FOLLOWING", "UNBOUNDED FOLLOWING"])
            if key is None:
                s, d = spec([])
            else:
                self.tag("win:range-frame")
                s, d = spec([self.order_item(key)], f"RANGE BETWEEN {lo} AND {hi}")
        dist = ""
        x = mk(f"{fname}({{0}}) OVER ({s})", f"{fname}({{0}}) OVER ({d})", [arg], t,
               inexact=arg.inexact or fname == "avg")
        x.agg = ctx.mode == "agg"
        return x

    # -------------------------------------------------------------- relations
    def relation(self, depth, allow_derived=True):
        """A FROM item with src_s/src_d texts and a Rel."""
        r = self.rng.random()
        a = self.alias()
        if self.ctes and r < 0.25:
            name, sel = self.pick(self.ctes)
            self.tag("cte-ref")
            rel = Rel(a, [(n, x.t, None, x.big, x.inexact, x.dom) for n, x in sel.cols])
            rel.src_s = rel.src_d = f"{name} {a}"
            return rel
        if allow_derived and depth < 2 and r < 0.3:
            self.tag("derived")
            sel = self.select(depth + 1, allow_order_limit=True)
            rel = Rel(a, [(n, x.t, None, x.big, x.inexact, x.dom) for n, x in sel.cols])
            rel.src_s = f"({sel.s}) {a}"
            rel.src_d = f"({sel.d}) {a}"
            return rel
        if allow_derived and r < 0.34:
            self.tag("values")
            nrows = self.rng.randint(1, 4)
            rows = []
            for _ in range(nrows):
                k = "NULL" if self.chance(0.2) else str(self.rng.randint(0, 4))
                v = "NULL" if self.chance(0.2) else "'" + self.pick(STRINGS) + "'"
                rows.append(f"({k}, {v})")
            if all(x.startswith("(NULL,") for x in rows):
                rows[0] = "(1," + rows[0][6:]
            if all(x.endswith(" NULL)") for x in rows):
                rows[0] = rows[0][:-5] + "'v')"
            rel = Rel(a, [("vk", INT, None, False, False, "k"), ("vs", STR, None, False, False, "s")])
            rel.src_s = rel.src_d = f"(VALUES {', '.join(rows)}) AS {a}(vk, vs)"
            return rel
        t = self.wpick([(4, self.tables[0]), (3, self.tables[1]), (2, self.tables[2]),
                        (0.5 if allow_derived else 1.5, self.tables[3])])
        self.tag("table:" + t.name)
        rel = Rel(a, [(c.name, c.t, c.exact, c.big, False, DOMAIN.get(c.name)) for c in t.columns])
        rel.src_s = rel.src_d = f"{t.name} {a}"
        return rel

    def join_cond(self, left_scope, right):
        lctx = Ctx(left_scope, sub_ok=False)
        rcols = [c for c in right.refs() if not c.inexact and c.t != BOOL]
        lcols = [c for c in lctx.cols() if not c.inexact and c.t != BOOL]
        conds = []
        if rcols and self.chance(0.85):
            for _ in range(1 if self.chance(0.75) else 2):
                rc = self.pick(rcols)
                lc = self.partner(lcols, rc)
                if lc is not None:
                    conds.append(comb("({0} = {1})", None, [lc, rc], BOOL))
        if not conds or self.chance(0.3):
            both = Ctx(left_scope + [right], sub_ok=False)
            if rcols and self.chance(0.5):
                rc = self.pick(rcols)
                cands = [c for c in lcols if family_ok(c.t, rc.t)]
                if cands:
                    op = self.pick(["<", "<=", ">", "<>"])
                    conds.append(comb("({0} " + op + " {1})", None, [self.pick(cands), rc], BOOL))
                    self.tag("join:non-equi")
            else:
                conds.append(self.pred(both, 1))
                self.tag("join:filter-in-on")
        if not conds:
            conds.append(same("TRUE", BOOL))
        return (" AND ".join(c.s for c in conds), " AND ".join(c.d for c in conds))

    def from_clause(self, depth):
        n = self.wpick([(50, 1), (38, 2), (12, 3)]) if depth < 1 else self.wpick([(75, 1), (25, 2)])
        first = self.relation(depth)
        s, d = first.src_s, first.src_d
        scope = [first]
        where = []
        for i in range(1, n):
            r = self.relation(depth)
            jt = self.wpick([(25, "inner"), (20, "left"), (10, "right"), (12, "full"),
                             (5, "cross"), (6, "comma"), (10, "semi"), (8, "anti")])
            if jt == "comma" and i != n - 1:
                jt = "inner"
            self.tag("join:" + jt)
            if jt == "cross":
                s += f" CROSS JOIN {r.src_s}"
                d += f" CROSS JOIN {r.src_d}"
                scope.append(r)
            elif jt == "comma":
                s += f", {r.src_s}"
                d += f", {r.src_d}"
                cs, cd = self.join_cond(scope, r)
                scope.append(r)
                if self.chance(0.8):
                    where.append(X(cs, cd, BOOL))
            else:
                cs, cd = self.join_cond(scope, r)
                kw_s = {"inner": "JOIN", "left": "LEFT JOIN", "right": "RIGHT JOIN",
                        "full": "FULL OUTER JOIN", "semi": "LEFT SEMI JOIN",
                        "anti": "LEFT ANTI JOIN"}[jt]
                kw_d = {"inner": "JOIN", "left": "LEFT JOIN", "right": "RIGHT JOIN",
                        "full": "FULL OUTER JOIN", "semi": "SEMI JOIN", "anti": "ANTI JOIN"}[jt]
                s += f" {kw_s} {r.src_s} ON {cs}"
                d += f" {kw_d} {r.src_d} ON {cd}"
                if jt not in ("semi", "anti"):
                    scope.append(r)
        return s, d, scope, where

    # -------------------------------------------------------------- SELECT
    def name(self, i, depth):
        return f"c{i}" if depth == 0 else f"v{depth}_{i}"

    def select(self, depth, want=None, allow_order_limit=False, top=False):
        """A SELECT block (no set operation). want: list of families for the output columns."""
        from_s, from_d, scope, where = self.from_clause(depth)
        saved_used, self.order_sensitive_used = self.order_sensitive_used, False
        sub_ok = depth < 2
        ctx = Ctx(scope, "row", sub_ok=sub_ok, depth=depth)
        if self.chance(0.5):
            where.append(self.pred(ctx, self.pick([1, 1, 2])))
        mode = self.wpick([(28, "plain"), (30, "agg"), (8, "gsets"), (18, "window"),
                           (7, "aggwin"), (8, "distinct")])
        self.tag("mode:" + mode)
        ncols = len(want) if want else self.rng.randint(1, 4)
        types = list(want) if want else [self.pick([INT, INT, DEC, DBL, STR, STR, DATE, BOOL])
                                         for _ in range(ncols)]
        items = []
        group_s = group_d = having_s = having_d = ""
        if mode in ("agg", "gsets", "aggwin"):
            cols = [c for c in ctx.cols() if not c.inexact]
            nkeys = self.rng.randint(0 if mode == "agg" else 1, 3)
            keys = []
            for _ in range(nkeys):
                if not cols:
                    break
                if mode == "gsets" or self.chance(0.8):
                    k = self.pick(cols)
                else:
                    k = self.expr(ctx.row(sub_ok=False), self.pick([INT, STR, DATE]), 1)
                    # a constant key would be an ordinal (GROUP BY 2) in both engines
                    if k.inexact or not re.search(r"\bx\d+\.", k.s):
                        k = self.pick(cols)
                if all(k.s != o.s for o in keys):
                    keys.append(k)
            if mode == "gsets" and not keys:
                mode = "agg"
            actx = Ctx(scope, "agg", keys=keys, sub_ok=sub_ok, depth=depth,
                       grouping_keys=keys if mode == "gsets" else [])
            if keys:
                ks = ", ".join(k.s for k in keys)
                kd = ", ".join(k.d for k in keys)
                if mode == "gsets":
                    g = self.pick(["rollup", "cube", "sets"])
                    self.tag("gsets:" + g)
                    if g == "rollup":
                        group_s, group_d = f" GROUP BY ROLLUP({ks})", f" GROUP BY ROLLUP({kd})"
                    elif g == "cube":
                        group_s, group_d = f" GROUP BY CUBE({ks})", f" GROUP BY CUBE({kd})"
                    else:
                        sets = []
                        for _ in range(self.rng.randint(1, 3)):
                            sub = [k for k in keys if self.chance(0.5)]
                            sets.append(sub)
                        # KNOWN: a repeated grouping set gives its rows once per repetition in
                        # Spark (`_gen_grouping_pos`) and once in DuckDB: sets are distinct.
                        sets = [st for i, st in enumerate(sets) if st not in sets[:i]]
                        # only keys named in some set may be used outside aggregates
                        used = [k for k in keys if any(k in st for st in sets)]
                        actx.keys = used
                        actx.grouping_keys = used
                        ss = ", ".join("(" + ", ".join(k.s for k in st) + ")" for st in sets)
                        sd = ", ".join("(" + ", ".join(k.d for k in st) + ")" for st in sets)
                        group_s = f" GROUP BY GROUPING SETS ({ss})"
                        group_d = f" GROUP BY GROUPING SETS ({sd})"
                else:
                    group_s, group_d = f" GROUP BY {ks}", f" GROUP BY {kd}"
            else:
                self.tag("agg:global")
            for i, t in enumerate(types):
                if mode == "aggwin" and self.chance(0.5) and t != BOOL:
                    items.append(self.window(actx, t))
                elif actx.keys and i < len(actx.keys) and self.chance(0.5) and not want:
                    items.append(actx.keys[i])
                    types[i] = actx.keys[i].t
                else:
                    items.append(self.expr(actx, t, self.item_depth()))
            if self.chance(0.35):
                h = self.pred(actx, 2)
                having_s, having_d = f" HAVING {h.s}", f" HAVING {h.d}"
                self.tag("having")
        else:
            ctx.win_ok = mode == "window"
            for t in types:
                if mode == "window" and t != BOOL and self.chance(0.6):
                    items.append(self.window(ctx, t))
                else:
                    items.append(self.expr(ctx, t, self.item_depth()))
        distinct = "DISTINCT " if mode == "distinct" or (mode == "agg" and self.chance(0.05)) else ""
        if want:
            # some builders fall back to another type (count for a string window...): a set
            # operation needs the types asked for (Spark and DuckDB coerce mixed ones apart)
            for i, t in enumerate(want):
                if not family_ok(items[i].t, t) or (items[i].t != t and t in (STR, DATE, BOOL)):
                    items[i] = self.literal(t)
        cols = [(self.name(i, depth), x) for i, x in enumerate(items)]
        sel_s = ", ".join(f"{x.s} AS {n}" for n, x in cols)
        sel_d = ", ".join(f"{x.d} AS {n}" for n, x in cols)
        where_s = (" WHERE " + " AND ".join(w.s for w in where)) if where else ""
        where_d = (" WHERE " + " AND ".join(w.d for w in where)) if where else ""
        s = f"SELECT {distinct}{sel_s} FROM {from_s}{where_s}{group_s}{having_s}"
        d = f"SELECT {distinct}{sel_d} FROM {from_d}{where_d}{group_d}{having_d}"
        sel = Sel(s, d, cols)
        self.order_sensitive_used = saved_used
        if allow_order_limit and self.chance(0.2):
            self.add_order(sel, limit=True)
        return sel

    def add_order(self, sel, limit):
        """ORDER BY every output column (inexact ones last), with explicit NULLS FIRST/LAST."""
        cols = list(sel.cols)
        self.rng.shuffle(cols)
        cols.sort(key=lambda c: c[1].inexact)
        items = []
        for n, _ in cols:
            items.append(f"{n} {self.pick(['ASC', 'DESC'])} {self.pick(['NULLS FIRST', 'NULLS LAST'])}")
        tail = " ORDER BY " + ", ".join(items)
        if limit:
            tail += f" LIMIT {self.rng.randint(0, 8) if self.chance(0.1) else self.rng.randint(1, 12)}"
            self.tag("limit")
            if self.chance(0.2):
                tail += f" OFFSET {self.rng.randint(1, 3)}"
                self.tag("offset")
        sel.s += tail
        sel.d += tail
        sel.ordered = True

    def set_op(self, depth, top=False):
        left = self.select(depth)
        want = [x.t for _, x in left.cols]
        right = self.select(depth, want=want)
        op = self.pick(["UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL",
                        "EXCEPT ALL", "UNION DISTINCT"])
        self.tag("setop:" + op.lower().replace(" ", "-"))
        op_d = op if op != "UNION DISTINCT" else "UNION"
        # Each side in a derived table: no precedence question between the engines.
        la, ra = self.alias(), self.alias()

        def duck_items(alias):
            # see dwide: decimals are unified as DECIMAL(38,4) in DuckDB
            out = []
            for (n, lx), (_, rx) in zip(left.cols, right.cols):
                if DEC in (lx.t, rx.t) and DBL not in (lx.t, rx.t):
                    out.append(f"CAST({alias}.{n} AS DECIMAL(38,4)) AS {n}")
                else:
                    out.append(f"{alias}.{n}")
            return ", ".join(out)

        s = f"SELECT * FROM ({left.s}) {la} {op} SELECT * FROM ({right.s}) {ra}"
        d = (f"SELECT {duck_items(la)} FROM ({left.d}) {la} {op_d} "
             f"SELECT {duck_items(ra)} FROM ({right.d}) {ra}")
        cols = []
        for (n, lx), (_, rx) in zip(left.cols, right.cols):
            t = lx.t if lx.t == rx.t else (DBL if DBL in (lx.t, rx.t) else
                                           DEC if DEC in (lx.t, rx.t) else lx.t)
            cols.append((n, X(n, n, t, big=lx.big or rx.big, inexact=lx.inexact or rx.inexact)))
        return Sel(s, d, cols)

    def query(self):
        # CTEs
        if self.chance(0.15):
            for _ in range(self.rng.randint(1, 2)):
                sel = self.select(1)
                name = f"w{len(self.ctes) + 1}"
                self.ctes.append((name, sel))
            self.tag("cte")
        if self.chance(0.12):
            sel = self.set_op(0, top=True)
        else:
            sel = self.select(0, top=True)
        if self.chance(0.45):
            self.add_order(sel, limit=self.chance(0.4))
        if self.ctes:
            ws = "WITH " + ", ".join(f"{n} AS ({c.s})" for n, c in self.ctes) + " "
            wd = "WITH " + ", ".join(f"{n} AS ({c.d})" for n, c in self.ctes) + " "
            sel.s, sel.d = ws + sel.s, wd + sel.d
        variant = self.pick(VARIANTS)[0]
        return Query(self.seed, self.index, sel.s, sel.d, sel.ordered, self.tags, variant)


def generate(tables, seed, index):
    """Query number `index` of `seed`."""
    return Generator(tables, seed, index).query()


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser(description="print generated queries")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--duckdb", action="store_true", help="print the DuckDB text too")
    a = p.parse_args()
    tabs = make_tables()
    for i in range(a.start, a.start + a.count):
        q = generate(tabs, a.seed, i)
        print(f"-- q{i} ({q.variant}) {' '.join(q.tags)}")
        print(q.spark + ";")
        if a.duckdb and q.duck != q.spark:
            print("-- duckdb:")
            print(q.duck + ";")
