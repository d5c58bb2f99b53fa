"""Starts `ember server` for the Flight SQL client tests and connects ADBC clients to it.

Environment (set by crates/ember-cli/tests/flight_sql_clients.rs):
  EMBER_BIN         the ember binary (default: target/debug/ember)
  EMBER_TPCH_DATA   TPC-H SF 0.01 Parquet, as `ember tpch gen` writes it (generated if unset)
"""

import os
import pathlib
import re
import subprocess
import tempfile
import time

import adbc_driver_flightsql.dbapi as flightsql
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
USER = "analyst"
# 37 bytes with the user name: base64 needs padding, which the Go driver leaves out.
PASSWORD = "correct horse battery staple!"
TPCH_TABLES = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"]


def ember_binary():
    return os.environ.get("EMBER_BIN", str(ROOT / "target" / "debug" / "ember"))


class Server:
    def __init__(self, process, host, port, log_path):
        self.process = process
        self.uri = f"grpc://{host}:{port}"
        self.address = f"{host}:{port}"
        self.log_path = log_path

    def log(self):
        return pathlib.Path(self.log_path).read_text(errors="replace")

    def connect(self, user=USER, password=PASSWORD):
        kwargs = {}
        if user is not None:
            kwargs = {"username": user, "password": password}
        return flightsql.connect(self.uri, db_kwargs=kwargs, autocommit=True)


def start_server(tmp, extra_conf=(), env_extra=None, master="local[2]"):
    log_path = os.path.join(tmp, f"server-{len(os.listdir(tmp))}.log")
    log = open(log_path, "w")
    env = dict(os.environ, RUST_LOG="info", EMBER_SERVER_PASSWORD=PASSWORD)
    env.update(env_extra or {})
    args = [ember_binary(), "server", "--host", "127.0.0.1", "--port", "0",
            "--master", master, "--conf", f"ember.server.user={USER}"]
    for conf in extra_conf:
        args += ["--conf", conf]
    process = subprocess.Popen(args, stdout=log, stderr=log, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        text = pathlib.Path(log_path).read_text(errors="replace")
        match = re.search(r"listening on (\S+):(\d+)", text)
        if match:
            return Server(process, match.group(1), match.group(2), log_path)
        if process.poll() is not None:
            raise RuntimeError(f"ember server exited:\n{text}")
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("ember server did not start within 60 s")


@pytest.fixture(scope="session")
def workdir():
    with tempfile.TemporaryDirectory(prefix="ember-flight-sql-") as tmp:
        yield tmp


@pytest.fixture(scope="session")
def tpch_data(workdir):
    data = os.environ.get("EMBER_TPCH_DATA")
    if data:
        return data
    data = os.path.join(workdir, "tpch")
    subprocess.run([ember_binary(), "tpch", "gen", "--sf", "0.01", "--format", "parquet",
                    "--out", data], check=True)
    return data


@pytest.fixture(scope="session")
def server(workdir, tpch_data):
    server = start_server(workdir)
    with server.connect() as conn, conn.cursor() as cur:
        for table in TPCH_TABLES:
            cur.execute(f"CREATE TABLE {table} USING parquet LOCATION '{tpch_data}/{table}'")
    yield server
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture
def conn(server):
    with server.connect() as conn:
        yield conn
