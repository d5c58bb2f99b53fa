#!/usr/bin/env python3
"""Shrinks a failing query while it keeps failing the same way (a helper for bug reports).

    python tools/difftest/reduce.py --seed 1 --only 144          # a generated query
    python tools/difftest/reduce.py --sql "SELECT ..."            # any Spark SQL text

The failure kept is the one of the original query: the same Ember error signature, or (for a
result mismatch) both engines answering with different results. The DuckDB text of each
candidate is derived from the Spark text by `to_duckdb` (the dialect differences the
generator uses). The result is only a candidate: check that the reduced query is still
deterministic (a LIMIT without a total ORDER BY, or a window ordered by too few columns, makes
a mismatch meaningless) before reporting it.
"""

import argparse
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import generator  # noqa: E402
import run  # noqa: E402

TOKEN = re.compile(r"\s*('(?:[^']|'')*'|[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)?|"
                   r"\d+(?:\.\d+)?|<=>|<>|!=|<=|>=|\|\||[(),*+\-/%<>=;])")


def tokenize(sql):
    out, pos = [], 0
    while pos < len(sql):
        m = TOKEN.match(sql, pos)
        if not m:
            if sql[pos:].strip() == "":
                break
            raise ValueError(f"cannot tokenize at {sql[pos:pos + 20]!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


def join(tokens):
    s = " ".join(tokens)
    s = re.sub(r"(\w) \(", r"\1(", s)
    s = re.sub(r"\( ", "(", s)
    s = re.sub(r" \)", ")", s)
    s = re.sub(r" ,", ",", s)
    return s


def _split_call(sql, start):
    """For sql[start] == '(', the argument texts up to the matching ')' and its index."""
    depth, args, cur, i = 0, [], [], start
    in_str = False
    while i < len(sql):
        ch = sql[i]
        if in_str:
            cur.append(ch)
            if ch == "'":
                in_str = False
        elif ch == "'":
            in_str = True
            cur.append(ch)
        elif ch == "(":
            depth += 1
            if depth > 1:
                cur.append(ch)
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return args, i
            cur.append(ch)
        elif ch == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    raise ValueError("unbalanced parentheses")


def _rewrite_calls(sql, name, fn):
    pat = re.compile(r"\b" + name + r"\(", re.I)
    while True:
        m = pat.search(sql)
        if not m:
            return sql
        args, end = _split_call(sql, m.end() - 1)
        sql = sql[:m.start()] + fn(args) + sql[end + 1:]


def to_duckdb(sql):
    """The DuckDB spelling of the Spark constructs the generator uses."""
    s = sql
    s = re.sub(r"\bLEFT SEMI JOIN\b", "SEMI JOIN", s)
    s = re.sub(r"\bLEFT ANTI JOIN\b", "ANTI JOIN", s)
    s = s.replace("<=>", "IS NOT DISTINCT FROM")
    s = re.sub(r"\bdiv\b", "//", s)
    s = re.sub(r"\bROWS 1 PRECEDING\b", "ROWS BETWEEN 1 PRECEDING AND CURRENT ROW", s)
    s = _rewrite_calls(s, "nvl", lambda a: f"coalesce({a[0]}, {a[1]})")
    s = _rewrite_calls(s, "count_if", lambda a: f"count(CASE WHEN {a[0]} THEN 1 END)")
    s = _rewrite_calls(s, "date_add", lambda a: f"({a[0]} + {a[1]})")
    s = _rewrite_calls(s, "date_sub", lambda a: f"({a[0]} - {a[1]})")
    s = _rewrite_calls(s, "datediff", lambda a: f"date_diff('day', {a[1]}, {a[0]})")
    s = _rewrite_calls(s, "add_months", lambda a: f"CAST(({a[0]} + to_months({a[1]})) AS DATE)")
    s = _rewrite_calls(s, "dayofweek", lambda a: f"(dayofweek_({a[0]}) + 1)")
    s = s.replace("dayofweek_(", "dayofweek(")
    s = _rewrite_calls(s, "trunc", lambda a: "CAST(date_trunc('{}', {}) AS DATE)".format(
        "month" if "MM" in a[1] else "year", a[0]))
    return s


class Checker:
    def __init__(self, args):
        self.args = args
        self.workdir = tempfile.mkdtemp(prefix="ember-difftest-reduce-")
        data_dir = os.path.join(self.workdir, "data")
        self.tables = generator.make_tables(args.data_seed)
        generator.write_parquet(self.tables, data_dir)
        self.duck = run.DuckDB(data_dir, self.tables, args.timeout)
        self.ember = run.Ember(args, self.workdir, data_dir, self.tables)
        self.tests = 0

    def outcome(self, spark, duck=None):
        """('error', signature) | ('mismatch', None) | ('same', None) | ('duck-error', None)"""
        self.tests += 1
        try:
            duck_sql = duck if duck is not None else to_duckdb(spark)
        except Exception:  # noqa: BLE001 - a candidate that cannot be translated
            return ("invalid", None)
        try:
            e_rows, e_err = self.ember.run(spark, self.args.variant, self.args.timeout), None
        except run.EngineError as e:
            e_rows, e_err = None, str(e)
        except (run.EmberTimeout, run.EmberCrashed) as e:
            self.ember.start()
            return ("crash-or-timeout", type(e).__name__)
        if e_err is not None:
            if self.args.ignore_duckdb:
                return ("error", run.normalize_error(e_err))
            try:
                self.duck.run(duck_sql)
            except run.EngineError:
                return ("both-error", None)
            return ("error", run.normalize_error(e_err))
        try:
            d_rows = self.duck.run(duck_sql)
        except run.EngineError:
            return ("duck-error", None)
        kind = run.compare(e_rows, d_rows, self.args.ordered)
        return ("mismatch", None) if kind else ("same", None)


def reduce_tokens(tokens, interesting, log):
    """Greedy: remove balanced groups and token chunks while `interesting` holds."""
    changed = True
    while changed:
        changed = False
        # 1. parenthesised groups: replace by NULL, 1, or drop with a neighbouring AND/OR/comma
        i = 0
        while i < len(tokens):
            if tokens[i] == "(":
                depth, j = 0, i
                while j < len(tokens):
                    depth += tokens[j] == "("
                    depth -= tokens[j] == ")"
                    if depth == 0:
                        break
                    j += 1
                cands = []
                if i + 1 < len(tokens) and tokens[i + 1].upper() != "SELECT":
                    cands.append(tokens[:i] + ["NULL"] + tokens[j + 1:])
                    cands.append(tokens[:i] + ["1"] + tokens[j + 1:])
                if i > 0 and tokens[i - 1].upper() in ("AND", "OR", ","):
                    cands.append(tokens[:i - 1] + tokens[j + 1:])
                if j + 1 < len(tokens) and tokens[j + 1].upper() in ("AND", "OR", ","):
                    cands.append(tokens[:i] + tokens[j + 2:])
                if j > i + 2:
                    cands.append(tokens[:i + 1] + tokens[j:])           # empty the group
                for c in cands:
                    if len(c) < len(tokens) and interesting(c):
                        tokens = c
                        changed = True
                        log(tokens)
                        break
            i += 1
        # 2. chunks of tokens
        n = max(1, len(tokens) // 4)
        while n >= 1:
            i = 0
            while i < len(tokens):
                c = tokens[:i] + tokens[i + n:]
                if c and interesting(c):
                    tokens = c
                    changed = True
                    log(tokens)
                else:
                    i += n
            n //= 2
    return tokens


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--only", type=int, help="the generated query to reduce")
    p.add_argument("--sql", help="a Spark SQL text to reduce instead")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--ember-bin", default=os.environ.get("EMBER_BIN", os.path.join(HERE, "..", "..", "target", "debug", "ember")))
    p.add_argument("--connect")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--conf", action="append", default=[])
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--variant", default=None, help="Ember session variant (default: the query's)")
    p.add_argument("--ordered", action="store_true")
    p.add_argument("--ignore-duckdb", action="store_true",
                   help="for an Ember error: do not require DuckDB to accept the reduced query")
    args = p.parse_args()
    tables = generator.make_tables(args.data_seed)
    duck_sql = None
    if args.sql:
        sql = args.sql.rstrip(";")
        args.variant = args.variant or "default"
    else:
        q = generator.generate(tables, args.seed, args.only)
        sql, duck_sql = q.spark, q.duck
        args.variant = args.variant or q.variant
        args.ordered = q.ordered
    checker = Checker(args)
    try:
        target = checker.outcome(sql, duck_sql)
        if target[0] not in ("error", "mismatch"):
            if target[0] == "mismatch" or duck_sql is None:
                pass
            # the derived DuckDB text may differ from the generator's: try it
            print(f"the query does not fail ({target[0]}); nothing to reduce")
            return 1
        print(f"reducing a {target[0]}{': ' + target[1] if target[1] else ''}", file=sys.stderr)
        if target[0] == "mismatch" and checker.outcome(sql)[0] != "mismatch":
            print("the DuckDB text derived from the Spark text does not reproduce the mismatch",
                  file=sys.stderr)
            return 1
        start = time.time()

        def interesting(tokens):
            return checker.outcome(join(tokens)) == target

        def log(tokens):
            print(f"  {len(tokens)} tokens ({checker.tests} tests, {time.time() - start:.0f} s)",
                  file=sys.stderr)

        tokens = reduce_tokens(tokenize(sql), interesting, log)
        out = join(tokens)
        print(out + ";")
        if to_duckdb(out) != out:
            print("-- DuckDB: " + to_duckdb(out) + ";")
        if target[0] == "mismatch":
            e = checker.ember.run(out, args.variant, args.timeout)
            d = checker.duck.run(to_duckdb(out))
            print("-- ember:\n" + run.fmt_rows(e, 20) + "\n-- duckdb:\n" + run.fmt_rows(d, 20))
        else:
            print("-- ember error: " + target[1])
    finally:
        checker.ember.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
