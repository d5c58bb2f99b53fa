"""Ember's Flight SQL endpoint through the ADBC Flight SQL driver (the Go driver behind
adbc_driver_flightsql), as a Python user would use it."""

import datetime
import decimal
import math
import threading
import time

import adbc_driver_manager
import pyarrow as pa
import pytest

from conftest import PASSWORD, ROOT, USER, start_server


def reference_answer(query):
    lines = (ROOT / "tpch" / "answers" / "sf0.01" / f"{query}.out").read_text().splitlines()
    header = lines[0].split("|")
    return header, [line.split("|") for line in lines[1:] if line]


def same_value(got, expected):
    if got is None:
        return expected in ("", "NULL", "null")
    if isinstance(got, (int, float, decimal.Decimal)):
        e = float(expected)
        return math.isclose(float(got), e, rel_tol=1e-6, abs_tol=0.01)
    if isinstance(got, datetime.date):
        return got.isoformat() == expected.strip()
    return str(got).strip() == expected.strip()


@pytest.mark.parametrize("query", ["q01", "q03", "q13"])
def test_tpch_query_equals_the_reference_answer(conn, query):
    sql = (ROOT / "tpch" / "queries" / f"{query}.sql").read_text()
    with conn.cursor() as cur:
        cur.execute(sql)
        table = cur.fetch_arrow_table()
    header, rows = reference_answer(query)
    assert [c.lower() for c in table.column_names] == [h.lower() for h in header]
    got = [list(row.values()) for row in table.to_pylist()]
    assert len(got) == len(rows), f"{len(got)} rows, the answer has {len(rows)}"
    for i, (g, e) in enumerate(zip(got, rows)):
        for j, (gv, ev) in enumerate(zip(g, e)):
            assert same_value(gv, ev), f"row {i} column {header[j]}: got {gv!r}, expected {ev!r}"


def test_results_stream_in_batches(conn):
    # 60k rows: more than one batch on the wire, read incrementally.
    with conn.cursor() as cur:
        cur.execute("SELECT l_orderkey, l_comment FROM lineitem")
        reader = cur.fetch_record_batch()
        batches = 0
        rows = 0
        for batch in reader:
            batches += 1
            rows += batch.num_rows
    assert rows == 60175
    assert batches > 1


def test_ddl_then_query(server, conn, workdir):
    path = f"{workdir}/people.csv"
    with open(path, "w") as f:
        f.write("id,name,age\n1,ada,36\n2,grace,85\n3,linus,\n")
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE people USING csv OPTIONS (header 'true', inferSchema 'true') LOCATION '{path}'")
        cur.execute("SELECT name, age FROM people WHERE id >= 2 ORDER BY id")
        assert cur.fetchall() == [("grace", 85), ("linus", None)]
        cur.execute("CREATE OR REPLACE TEMPORARY VIEW old_people AS SELECT * FROM people WHERE age > 50")
        cur.execute("SELECT name FROM old_people")
        assert cur.fetchall() == [("grace",)]
    # Tables are shared; temporary views and SET values belong to the session.
    with server.connect() as other, other.cursor() as cur:
        cur.execute("SELECT count(*) FROM people")
        assert cur.fetchone() == (3,)
        with pytest.raises(adbc_driver_manager.Error, match="old_people"):
            cur.execute("SELECT * FROM old_people")


def test_set_belongs_to_the_session(server, conn):
    with conn.cursor() as cur:
        cur.execute("SET ember.sql.shuffle.partitions = 3")
        cur.execute("SET ember.sql.shuffle.partitions")
        assert cur.fetchall()[0][1] == "3"
    with server.connect() as other, other.cursor() as cur:
        cur.execute("SET ember.sql.shuffle.partitions")
        assert cur.fetchall()[0][1] != "3"


def test_execute_update_runs_ddl(conn):
    stmt = adbc_driver_manager.AdbcStatement(conn.adbc_connection)
    try:
        stmt.set_sql_query("CREATE OR REPLACE TEMPORARY VIEW tiny AS SELECT 1 AS one")
        stmt.execute_update()
    finally:
        stmt.close()
    with conn.cursor() as cur:
        cur.execute("SELECT one FROM tiny")
        assert cur.fetchall() == [(1,)]


def test_prepared_statement_with_bound_parameters(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM lineitem WHERE l_quantity < 24 AND l_returnflag = 'R'")
        expected = cur.fetchone()[0]
        assert expected > 0
        cur.execute("SELECT count(*) FROM lineitem WHERE l_quantity < ? AND l_returnflag = ?", (24, "R"))
        assert cur.fetchone()[0] == expected
        # The same statement again with other values (prepared once, bound twice).
        cur.execute("SELECT count(*) FROM lineitem WHERE l_quantity < ? AND l_returnflag = ?", (1, "R"))
        assert cur.fetchone()[0] == 0
        # Numbered parameters, a date, and the result's column names.
        cur.execute(
            "SELECT $2 AS flag, count(*) AS n FROM lineitem WHERE l_shipdate <= $1 AND l_returnflag = $2 GROUP BY 1",
            (datetime.date(1994, 1, 1), "A"),
        )
        table = cur.fetch_arrow_table()
        assert table.column_names == ["flag", "n"]
        assert table.to_pylist()[0]["flag"] == "A"
        with pytest.raises(adbc_driver_manager.Error, match="parameter"):
            cur.execute("SELECT ? + ?", (1,))


def test_get_objects_and_table_schema(conn):
    objects = conn.adbc_get_objects(depth="all").read_all().to_pylist()
    catalogs = {c["catalog_name"]: c for c in objects}
    assert "spark_catalog" in catalogs
    schemas = {s["db_schema_name"]: s for s in catalogs["spark_catalog"]["catalog_db_schemas"]}
    tables = {t["table_name"]: t for t in schemas["default"]["db_schema_tables"]}
    assert {"lineitem", "orders", "nation"} <= set(tables)
    assert tables["lineitem"]["table_type"] == "TABLE"
    columns = [c["column_name"] for c in tables["nation"]["table_columns"]]
    assert columns == ["n_nationkey", "n_name", "n_regionkey", "n_comment"]

    schema = conn.adbc_get_table_schema("orders")
    assert schema.names[:3] == ["o_orderkey", "o_custkey", "o_orderstatus"]
    assert schema.field("o_totalprice").type == pa.decimal128(15, 2)
    assert set(conn.adbc_get_table_types()) == {"TABLE", "VIEW"}
    info = conn.adbc_get_info()
    assert info["vendor_name"] == "Ember"

    # Filters: a table name pattern.
    objects = conn.adbc_get_objects(depth="tables", table_name_filter="line%").read_all().to_pylist()
    names = [t["table_name"] for c in objects for s in c["catalog_db_schemas"] or [] for t in s["db_schema_tables"] or []]
    assert names == ["lineitem"]


def test_a_wrong_password_is_rejected(server):
    with pytest.raises(adbc_driver_manager.Error) as error:
        with server.connect(password="wrong") as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
    assert "Unauthenticated" in str(error.value) or "UNAUTHENTICATED" in str(error.value).upper()
    # No credentials at all: no data either.
    with pytest.raises(adbc_driver_manager.Error) as error:
        with server.connect(user=None) as conn, conn.cursor() as cur:
            cur.execute("SELECT n_name FROM nation")
            cur.fetchall()
    assert "UNAUTHENTICATED" in str(error.value).upper()


def test_a_cancelled_long_query_stops(server, conn):
    long_query = (
        "SELECT count(*) FROM lineitem a CROSS JOIN lineitem b "
        "WHERE a.l_orderkey * 7 + b.l_partkey = -1"
    )
    outcome = {}

    with conn.cursor() as cur:
        def run():
            started = time.time()
            try:
                cur.execute(long_query)
                outcome["rows"] = cur.fetchall()
            except Exception as e:  # the cancellation surfaces as an error
                outcome["error"] = e
            outcome["seconds"] = time.time() - started

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(3)
        assert thread.is_alive(), f"the long query ended early: {outcome}"
        cur.adbc_cancel()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the query did not stop within 30 s of the cancel"
    assert "error" in outcome, f"the query was not cancelled: {outcome}"

    # The job itself stopped on the server, not just the client's stream.
    deadline = time.time() + 20
    while time.time() < deadline and "cancelled" not in server.log():
        time.sleep(0.2)
    log = server.log()
    assert "cancelling its query" in log or "cancelling statement" in log, log[-3000:]
    deadline = time.time() + 20
    while time.time() < deadline and not any(
        "Job" in line and "cancelled" in line.lower() for line in server.log().splitlines()
    ):
        time.sleep(0.2)
    assert any("Job" in l and "cancelled" in l.lower() for l in server.log().splitlines()), server.log()[-3000:]
    print("\n".join(l for l in server.log().splitlines() if "ancel" in l))
    # And the server answers at once afterwards.
    with conn.cursor() as cur:
        started = time.time()
        cur.execute("SELECT count(*) FROM nation")
        assert cur.fetchone() == (25,)
        assert time.time() - started < 10


def test_cancel_stops_the_tasks_on_the_executors(workdir, tpch_data):
    server = start_server(workdir, master="local-cluster[2,1,512]")
    try:
        with server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE TABLE lineitem USING parquet LOCATION '{tpch_data}/lineitem'")
            cur.execute("SELECT count(*) FROM lineitem")
            assert cur.fetchone() == (60175,)
            errors = []

            def run():
                try:
                    cur.execute("SELECT count(*) FROM lineitem a CROSS JOIN lineitem b "
                                "WHERE a.l_orderkey * 7 + b.l_partkey = -1")
                    cur.fetchall()
                except Exception as e:
                    errors.append(e)

            thread = threading.Thread(target=run)
            thread.start()
            time.sleep(3)
            assert thread.is_alive()
            cur.adbc_cancel()
            thread.join(timeout=30)
            assert not thread.is_alive() and errors
        deadline = time.time() + 30
        while time.time() < deadline and "cancelled by the driver" not in server.log():
            time.sleep(0.2)
        assert "cancelled by the driver" in server.log(), server.log()[-3000:]
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)


def test_clients_run_at_once_and_a_slow_query_does_not_block_others(server):
    slow = (
        "SELECT count(*) FROM lineitem a CROSS JOIN lineitem b "
        "WHERE a.l_orderkey * 7 + b.l_partkey = -1"
    )
    slow_conn = server.connect()
    slow_cur = slow_conn.cursor()
    thread = threading.Thread(target=lambda: _swallow(lambda: (slow_cur.execute(slow), slow_cur.fetchall())))
    thread.start()
    time.sleep(1)
    try:
        results = []

        def quick():
            with server.connect() as c, c.cursor() as cur:
                cur.execute("SELECT count(*) FROM orders WHERE o_orderstatus = 'F'")
                results.append(cur.fetchone()[0])

        started = time.time()
        threads = [threading.Thread(target=quick) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(results) == 4 and len(set(results)) == 1
        assert time.time() - started < 30
        assert thread.is_alive(), "the slow query should still be running"
    finally:
        slow_cur.adbc_cancel()
        thread.join(timeout=30)
        slow_cur.close()
        slow_conn.close()


def _swallow(f):
    try:
        f()
    except Exception:
        pass


def test_server_refuses_to_start_without_a_password(workdir):
    with pytest.raises(RuntimeError, match="password"):
        start_server(workdir, env_extra={"EMBER_SERVER_PASSWORD": ""})


def test_logins_off_only_when_configured(workdir):
    server = start_server(workdir, extra_conf=["ember.server.auth=none"])
    try:
        with server.connect(user=None) as conn, conn.cursor() as cur:
            cur.execute("SELECT 40 + 2 AS answer")
            assert cur.fetchall() == [(42,)]
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)


def test_load_tool_runs_clean(server):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "flight_sql_load.py"), "--address", server.address,
         "--user", USER, "--password", PASSWORD, "--clients", "16", "--duration", "5"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "queries per second" in out.stdout and "failed: 0" in out.stdout, out.stdout
