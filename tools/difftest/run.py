#!/usr/bin/env python3
"""Differential testing of Ember against DuckDB on generated queries.

    python tools/difftest/run.py --seed 1 --count 300 [--ember-bin PATH | --connect HOST:PORT]
                                 [--keep-going] [--out report.txt] [--only N[,M...]]

Starts `ember server` (local[2], no logins, port 0), creates the generated tables in Ember
(Parquet, CREATE TABLE ... USING parquet LOCATION) and in DuckDB (views over read_parquet),
runs every generated query in both engines and compares the results. See README.md.
Exit code: 0 when every difference is a known one, 1 otherwise, 2 on a set-up failure.
"""

import argparse
import collections
import datetime
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import generator  # noqa: E402

REL_TOL = 1e-9
ABS_TOL = 1e-12


# ---------------------------------------------------------------------------------------------
# Known differences: (category, side, regex on the error message or None, explanation).
# A difference whose category is listed in KNOWN_CATEGORIES does not fail the run.
# ---------------------------------------------------------------------------------------------
KNOWN_ERROR_RULES = [
    # (category, which side errs, pattern, needed query tag or None)
    # README "Not supported yet": correlated subqueries whose correlation is not an equality.
    ("known:ember-unsupported-non-equi-correlation", "ember",
     re.compile(r"Not supported yet: the correlated condition"), "subq:non-equi-corr"),
    # A bug of DuckDB's own (its binder fails with an internal error); Ember's answer cannot
    # be checked against it.
    ("known:duckdb-internal-error", "duckdb", re.compile(r"INTERNAL Error"), None),
]
KNOWN_CATEGORIES = {r[0] for r in KNOWN_ERROR_RULES}


# ---------------------------------------------------------------------------------------------
# Values and comparison
# ---------------------------------------------------------------------------------------------

def norm(v):
    """A value as one of None, bool, Decimal (exact numbers), float, str, date, other."""
    if v is None or isinstance(v, (bool, str, float, Decimal)):
        return v
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, datetime.datetime):
        return v
    if isinstance(v, datetime.date):
        return v
    return v


def sort_key(v):
    if v is None:
        return (0, 0)
    if isinstance(v, bool):
        return (1, int(v))
    if isinstance(v, (Decimal, float)):
        f = float(v)
        if math.isnan(f):
            return (2, float("inf"), 1)
        return (2, f, 0)
    if isinstance(v, str):
        return (3, v)
    if isinstance(v, datetime.datetime):
        return (5, v)
    if isinstance(v, datetime.date):
        return (4, v)
    return (9, repr(v))


def values_equal(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, bool) and isinstance(b, bool):
            return a == b
        # Spark's grouping() is a tinyint, DuckDB's a bigint; never compare bools with numbers
        return False
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a == b
    if isinstance(a, (Decimal, float)) and isinstance(b, (Decimal, float)):
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        if math.isinf(fa) or math.isinf(fb):
            return fa == fb
        tol = max(REL_TOL * max(abs(fa), abs(fb)), ABS_TOL)
        # A decimal against a double: the decimal was rounded to its scale (avg of decimals is
        # a decimal in Spark, a double in DuckDB).
        for x in (a, b):
            if isinstance(x, Decimal):
                exp = x.as_tuple().exponent
                if isinstance(exp, int):
                    tol = max(tol, 0.5 * 10.0 ** exp * (1 + 1e-9))
        return abs(fa - fb) <= tol
    if type(a) is not type(b):
        return False
    return a == b


def rows_equal(r1, r2):
    return len(r1) == len(r2) and all(values_equal(a, b) for a, b in zip(r1, r2))


def compare(ember_rows, duck_rows, ordered):
    """None if equal, else a short kind: 'columns', 'rowcount', 'values', 'order'."""
    if ember_rows and duck_rows and len(ember_rows[0]) != len(duck_rows[0]):
        return "columns"
    if len(ember_rows) != len(duck_rows):
        return "rowcount"
    if ordered:
        if all(rows_equal(a, b) for a, b in zip(ember_rows, duck_rows)):
            return None
        return "order" if multiset_equal(ember_rows, duck_rows) else "values"
    return None if multiset_equal(ember_rows, duck_rows) else "values"


def row_key(r):
    return tuple(sort_key(v) for v in r)


def multiset_equal(a, b):
    sa, sb = sorted(a, key=row_key), sorted(b, key=row_key)
    if all(rows_equal(x, y) for x, y in zip(sa, sb)):
        return True
    if len(a) > 3000:
        return False
    # Sorting may pair rows differently when floats differ in their last bits: match greedily.
    rest = list(sb)
    for x in sa:
        for i, y in enumerate(rest):
            if rows_equal(x, y):
                del rest[i]
                break
        else:
            return False
    return True


def multiset_diff(a, b):
    """Rows of a not matched in b (greedy, with the tolerant equality)."""
    rest = sorted(b, key=row_key)
    out = []
    for x in sorted(a, key=row_key):
        for i, y in enumerate(rest):
            if rows_equal(x, y):
                del rest[i]
                break
        else:
            out.append(x)
    return out


def fmt_value(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return "'" + v + "'"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def fmt_rows(rows, limit=12):
    lines = ["  (" + ", ".join(fmt_value(v) for v in r) + ")" for r in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"  ... {len(rows) - limit} more")
    return "\n".join(lines) if lines else "  (no rows)"


def normalize_error(msg):
    """A short signature of an error message."""
    first = msg.strip().splitlines()[0] if msg.strip() else "(empty)"
    first = re.sub(r"^(ADBC|INTERNAL|Flight|IO|UNKNOWN|INVALID_ARGUMENT|INVALID ARGUMENT)[^:]*: ", "", first)
    first = re.sub(r"'[^']*'|`[^`]*`|\"[^\"]*\"", "?", first)
    first = re.sub(r"\b[A-Za-z_]\w*\.[A-Za-z_]\w*\b", "Q", first)          # qualified names
    first = re.sub(r"(field name) \w+", r"\1 ?", first)
    first = re.sub(r"\bx\d+\b|\bv\d+_\d+\b|\bc\d+\b|\bw\d+\b", "N", first)
    first = re.sub(r"\d+", "N", first)
    return first[:140]


# ---------------------------------------------------------------------------------------------
# Engines
# ---------------------------------------------------------------------------------------------

class EngineError(Exception):
    pass


class DuckDB:
    def __init__(self, data_dir, tables, timeout):
        import duckdb
        self.con = duckdb.connect()
        self.con.execute("SET threads = 1")
        # Spark's default NULL ordering (the generator always spells it out; reduce.py may not)
        self.con.execute("SET default_null_order = 'nulls_first_on_asc_last_on_desc'")
        self.timeout = timeout
        for t in tables:
            self.con.execute(
                f"CREATE VIEW {t.name} AS SELECT * FROM read_parquet('{data_dir}/{t.name}/*.parquet')")

    def run(self, sql):
        timer = threading.Timer(self.timeout, self.con.interrupt)
        timer.start()
        try:
            return [tuple(norm(v) for v in r) for r in self.con.execute(sql).fetchall()]
        except Exception as e:  # noqa: BLE001 - any DuckDB error is a result
            raise EngineError(f"{type(e).__name__}: {e}") from None
        finally:
            timer.cancel()


class EmberCrashed(Exception):
    pass


class EmberTimeout(Exception):
    pass


class Ember:
    """An `ember server` process (or an existing one with --connect) and one connection per
    session variant."""

    def __init__(self, args, workdir, data_dir, tables):
        self.args, self.workdir, self.data_dir, self.tables = args, workdir, data_dir, tables
        self.process = None
        self.log_path = None
        self.conns = {}
        self.starts = 0
        self.start()

    def start(self):
        import adbc_driver_flightsql.dbapi as flightsql
        self.close()
        if self.args.connect:
            address = self.args.connect
        else:
            self.starts += 1
            self.log_path = os.path.join(self.workdir, f"ember-server-{self.starts}.log")
            log = open(self.log_path, "w")
            cmd = [self.args.ember_bin, "server", "--host", "127.0.0.1", "--port", "0",
                   "--master", self.args.master, "--conf", "ember.server.auth=none"]
            for c in self.args.conf:
                cmd += ["--conf", c]
            env = dict(os.environ, RUST_BACKTRACE="0")
            self.process = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                            env=env)
            deadline = time.time() + 60
            address = None
            while time.time() < deadline:
                text = pathlib.Path(self.log_path).read_text(errors="replace")
                m = re.search(r"listening on (\S+):(\d+)", text)
                if m:
                    address = f"{m.group(1)}:{m.group(2)}"
                    break
                if self.process.poll() is not None:
                    raise RuntimeError(f"ember server exited:\n{text}")
                time.sleep(0.05)
            if address is None:
                self.process.kill()
                raise RuntimeError("ember server did not start within 60 s")
        self.address = address
        self.log_offset = 0
        self.conns = {}
        for name, stmts in generator.VARIANTS:
            conn = flightsql.connect(f"grpc://{address}", autocommit=True)
            cur = conn.cursor()
            for s in stmts:
                cur.execute(s)
            self.conns[name] = (conn, cur)
        cur = self.conns["default"][1]
        for t in self.tables:
            cur.execute(f"DROP TABLE IF EXISTS {t.name}")
            cur.execute(f"CREATE TABLE {t.name} USING parquet LOCATION '{self.data_dir}/{t.name}'")

    def new_panics(self):
        """Panic messages the server logged since the last call (a panic is always a bug, even
        when the client got an answer)."""
        if not self.log_path:
            return []
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            text = f.read().decode("utf-8", "replace")
            self.log_offset = f.tell()
        out = []
        for m in re.finditer(r"panicked at ([^\n]*?):\d+:\d+:\n([^\n]*)", text):
            where = "/".join(m.group(1).split("/")[-3:])
            out.append(f"{m.group(2).strip()} (at {where})")
        return out

    def alive(self):
        return self.process is None or self.process.poll() is None

    def log_tail(self, n=30):
        if not self.log_path:
            return ""
        lines = pathlib.Path(self.log_path).read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def close(self):
        for conn, cur in self.conns.values():
            try:
                cur.close()
                conn.close()
            except Exception:  # noqa: BLE001
                pass
        self.conns = {}
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self.process = None

    def run(self, sql, variant, timeout):
        conn, cur = self.conns[variant]
        box = {}

        def work():
            try:
                cur.execute(sql)
                tbl = cur.fetch_arrow_table()
                cols = [c.to_pylist() for c in tbl.columns]
                box["rows"] = [tuple(norm(v) for v in r) for r in zip(*cols)] if cols else []
            except Exception as e:  # noqa: BLE001
                box["error"] = f"{type(e).__name__}: {e}"

        th = threading.Thread(target=work, daemon=True)
        th.start()
        th.join(timeout)
        if th.is_alive():
            try:
                cur.adbc_cancel()
            except Exception:  # noqa: BLE001
                pass
            th.join(5)
            raise EmberTimeout()
        if "error" in box:
            if not self.alive():
                raise EmberCrashed(box["error"])
            raise EngineError(box["error"])
        return box["rows"]


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------

class Outcome:
    def __init__(self, q, category, kind, detail, ember=None, duck=None, ember_err=None,
                 duck_err=None, known=False):
        self.q, self.category, self.kind, self.detail = q, category, kind, detail
        self.ember, self.duck, self.ember_err, self.duck_err = ember, duck, ember_err, duck_err
        self.known = known


def correlated_condition_is_equality(msg):
    m = re.search(r"correlated condition '(.*?)' (in|below)", msg)
    if not m:
        return True
    cond = m.group(1)
    return not re.search(r"\s(<|>|<=|>=|<>|!=)\s", cond)


def classify_error(side, msg, q):
    for cat, s, pat, tag in KNOWN_ERROR_RULES:
        if s == side and pat.search(msg) and (tag is None or tag in q.tags):
            if cat.endswith("non-equi-correlation") and correlated_condition_is_equality(msg):
                continue
            return cat, True
    return f"{side}-error: {normalize_error(msg)}", False


def run_one(q, ember, duck, args):
    try:
        d_rows, d_err = duck.run(q.duck), None
    except EngineError as e:
        d_rows, d_err = None, str(e)
    if args.duckdb_only:
        if d_err:
            return Outcome(q, f"duckdb-error: {normalize_error(d_err)}", "duckdb-error", "",
                           duck_err=d_err)
        return None
    e_rows = e_err = None
    try:
        e_rows = ember.run(q.spark, q.variant, args.timeout)
    except EngineError as e:
        e_err = str(e)
    except EmberTimeout:
        tail = ember.log_tail()
        ember.start()
        return Outcome(q, "ember-timeout", "timeout",
                       f"no answer within {args.timeout} s (server restarted)\n{tail}",
                       duck=d_rows, duck_err=d_err)
    except EmberCrashed as e:
        tail = ember.log_tail()
        ember.start()
        return Outcome(q, "ember-crash", "crash", f"{e}\n--- server log tail ---\n{tail}",
                       duck=d_rows, duck_err=d_err)
    panics = ember.new_panics()
    if panics:
        msg = re.sub(r"\d+", "N", panics[0])
        return Outcome(q, f"ember-panic: {msg[:140]}", "panic",
                       "server log: thread panicked: " + panics[0] +
                       ("" if e_err else "  (the client saw no error)"),
                       ember=e_rows, duck=d_rows, ember_err=e_err, duck_err=d_err)
    if e_err and d_err:
        return Outcome(q, "both-error", "both-error", "", ember_err=e_err, duck_err=d_err,
                       known=True)
    if e_err:
        cat, known = classify_error("ember", e_err, q)
        return Outcome(q, cat, "ember-error", "", duck=d_rows, ember_err=e_err, known=known)
    if d_err:
        cat, known = classify_error("duckdb", d_err, q)
        return Outcome(q, cat, "duckdb-error", "", ember=e_rows, duck_err=d_err, known=known)
    kind = compare(e_rows, d_rows, q.ordered)
    if kind is None:
        return None
    return Outcome(q, f"result-mismatch: {kind}{mismatch_hint(e_rows, d_rows, kind)}", kind, "",
                   ember=e_rows, duck=d_rows)


def mismatch_hint(e_rows, d_rows, kind):
    """A finer signature for common shapes of wrong results (for grouping only)."""
    if kind == "rowcount" and not e_rows:
        return " (ember returned no rows)"
    if kind == "values" and len(e_rows) == len(d_rows):
        only_e, only_d = multiset_diff(e_rows, d_rows), multiset_diff(d_rows, e_rows)
        if only_e and len(only_e) == len(only_d):
            pairs = zip(sorted(only_e, key=row_key), sorted(only_d, key=row_key))
            decimal_only = True
            for a, b in pairs:
                for x, y in zip(a, b):
                    if values_equal(x, y):
                        continue
                    if not (isinstance(x, Decimal) and isinstance(y, float)
                            and abs(float(x) - y) < 10.0 ** (x.as_tuple().exponent + 1)):
                        decimal_only = False
            if decimal_only:
                return " (an Ember decimal off in its last digit from DuckDB's double)"
    return ""


def describe(o, args):
    q = o.q
    out = [f"=== q{q.index} [{o.category}]{' (known)' if o.known else ''}  seed={q.seed} "
           f"variant={q.variant} ordered={q.ordered}",
           f"reproduce: python tools/difftest/run.py --seed {q.seed} --only {q.index}",
           f"tags: {' '.join(q.tags)}",
           "-- Spark SQL (run by Ember):", q.spark + ";"]
    if q.duck != q.spark:
        out += ["-- DuckDB SQL:", q.duck + ";"]
    if o.detail:
        out.append(o.detail)
    if o.ember_err:
        out.append("ember error: " + o.ember_err[:1500])
    elif o.ember is not None:
        out.append(f"ember: {len(o.ember)} rows")
        out.append(fmt_rows(o.ember))
    if o.duck_err:
        out.append("duckdb error: " + o.duck_err[:1500])
    elif o.duck is not None:
        out.append(f"duckdb: {len(o.duck)} rows")
        out.append(fmt_rows(o.duck))
    if o.ember is not None and o.duck is not None:
        only_e = multiset_diff(o.ember, o.duck)
        only_d = multiset_diff(o.duck, o.ember)
        if only_e or only_d:
            out.append(f"only in ember ({len(only_e)} rows):")
            out.append(fmt_rows(only_e, 8))
            out.append(f"only in duckdb ({len(only_d)} rows):")
            out.append(fmt_rows(only_d, 8))
    return "\n".join(out)


def parse_only(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += list(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def _quiet_unraisable(hook):
    # Cursors of a killed/restarted server complain when garbage-collected; that is noise.
    def quiet(u):
        if isinstance(u.exc_value, RuntimeError) and "Underflow in closing" in str(u.exc_value):
            return
        hook(u)
    return quiet


def main():
    sys.unraisablehook = _quiet_unraisable(sys.unraisablehook)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--start", type=int, default=0, help="first query index")
    p.add_argument("--only", help="run only these query indexes (e.g. 17 or 3,17,40-45)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the table contents")
    p.add_argument("--ember-bin", default=os.environ.get("EMBER_BIN", str(ROOT / "target" / "debug" / "ember")))
    p.add_argument("--connect", help="use a running ember server (HOST:PORT, no logins)")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--conf", action="append", default=[], help="extra --conf for ember server")
    p.add_argument("--timeout", type=float, default=30.0, help="per-query timeout in seconds")
    p.add_argument("--keep-going", action="store_true", help="do not stop at the first difference")
    p.add_argument("--out", help="write the full report to this file")
    p.add_argument("--max-per-category", type=int, default=3,
                   help="queries shown in full per category (the shortest ones)")
    p.add_argument("--workdir", help="where the Parquet files and server logs go (default: a temp dir)")
    p.add_argument("--duckdb-only", action="store_true",
                   help="only check that every generated query runs in DuckDB (generator check)")
    p.add_argument("--print", action="store_true", help="print each query before running it")
    p.add_argument("--sql", help="run this Spark SQL text in Ember (and in DuckDB, or --duck-sql) "
                   "over the generated tables, print both results, and exit")
    p.add_argument("--duck-sql", help="the DuckDB text for --sql when it differs")
    p.add_argument("--variant", default="default", help="Ember session variant for --sql")
    p.add_argument("--ordered", action="store_true", help="compare --sql results as sequences")
    args = p.parse_args()

    own_workdir = args.workdir is None
    workdir = args.workdir or tempfile.mkdtemp(prefix="ember-difftest-")
    os.makedirs(workdir, exist_ok=True)
    data_dir = os.path.join(workdir, "data")
    tables = generator.make_tables(args.data_seed)
    generator.write_parquet(tables, data_dir)

    t0 = time.time()
    try:
        duck = DuckDB(data_dir, tables, args.timeout)
        ember = None
        if not args.duckdb_only:
            if not args.connect and not os.path.exists(args.ember_bin):
                print(f"no ember binary at {args.ember_bin} (use --ember-bin)", file=sys.stderr)
                return 2
            ember = Ember(args, workdir, data_dir, tables)
    except Exception as e:  # noqa: BLE001
        print(f"set-up failed: {e}", file=sys.stderr)
        return 2
    setup = time.time() - t0

    if args.sql:
        q = generator.Query(args.seed, -1, args.sql, args.duck_sql or args.sql, args.ordered,
                            set(), args.variant)
        try:
            o = run_one(q, ember, duck, args)
        finally:
            if ember is not None and not args.connect:
                ember.close()
        if o is None or o.kind == "both-error":
            if o is None:
                rows = duck.run(q.duck)
                print(f"same result in both engines: {len(rows)} rows")
                print(fmt_rows(rows, 50))
            else:
                print("both engines fail")
                print("ember error: " + o.ember_err + "\nduckdb error: " + o.duck_err)
            return 0
        print(describe(o, args))
        return 1

    indexes = parse_only(args.only) if args.only else list(range(args.start, args.start + args.count))
    outcomes = []
    n_run = n_both_err = 0
    t1 = time.time()
    try:
        for i in indexes:
            q = generator.generate(tables, args.seed, i)
            if args.print:
                print(f"-- q{i}\n{q.spark};", flush=True)
            o = run_one(q, ember, duck, args)
            n_run += 1
            if n_run % 250 == 0:
                print(f"  ... {n_run} queries, {len(outcomes)} differences, "
                      f"{time.time() - t1:.0f} s", file=sys.stderr, flush=True)
            if o is None:
                continue
            if o.kind == "both-error":
                n_both_err += 1
                continue
            outcomes.append(o)
            if not o.known and not args.keep_going:
                print(describe(o, args))
                break
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        if ember is not None and not args.connect:
            ember.close()
    elapsed = time.time() - t1

    by_cat = collections.OrderedDict()
    for o in sorted(outcomes, key=lambda o: (o.known, o.category)):
        by_cat.setdefault(o.category, []).append(o)
    report = []
    unexplained = [o for o in outcomes if not o.known]
    for cat, os_ in by_cat.items():
        os_sorted = sorted(os_, key=lambda o: len(o.q.spark))
        report.append("#" * 100)
        report.append(f"# {cat}: {len(os_)} quer{'y' if len(os_) == 1 else 'ies'}"
                      f"{' (known difference)' if os_[0].known else ''}")
        report.append("# queries: " + " ".join(f"q{o.q.index}" for o in sorted(os_, key=lambda o: o.q.index)))
        if len(os_) > 1:
            common = set(os_[0].q.tags)
            for o in os_[1:]:
                common &= set(o.q.tags)
            report.append("# tags in all of them: " + " ".join(sorted(common)))
        for o in os_sorted[:args.max_per_category]:
            report.append(describe(o, args))
            report.append("")
    summary = [
        "=" * 100,
        f"seed {args.seed}: {n_run} queries in {elapsed:.1f} s (set-up {setup:.1f} s); "
        f"{n_run - len(outcomes) - n_both_err} agree, {n_both_err} fail in both engines, "
        f"{len(outcomes)} differ ({len(unexplained)} unexplained)",
    ]
    for cat, os_ in by_cat.items():
        summary.append(f"  {len(os_):5d}  {cat}{'  [known]' if os_[0].known else ''}")
    text = "\n".join(report + summary)
    if args.out:
        pathlib.Path(args.out).write_text(text + "\n")
        print("\n".join(summary))
        print(f"full report: {args.out}")
    else:
        print(text)
    if own_workdir and not unexplained:
        shutil.rmtree(workdir, ignore_errors=True)
    elif own_workdir:
        print(f"(Parquet data and server logs kept in {workdir})")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
