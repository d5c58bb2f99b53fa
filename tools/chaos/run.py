#!/usr/bin/env python3
"""Kill a random executor at a random moment while a TPC-H query runs, N times.

Each run starts `ember tpch run --check` on a local-cluster master, waits a random time
(uniform over the first 90% of a clean run's duration, measured first), SIGKILLs one of the
executor processes at random, and waits for the answer. A run that does not end within
--timeout seconds is a HANG (the driver is killed and its log kept); a run whose answer
does not match the reference, or that fails, is WRONG. Everything else is OK.

    python3 tools/chaos/run.py --query 9 --sf 1 --runs 10 \
        --master 'local-cluster[3,1,2g]' --ember-bin target/release/ember

Exit status 0 only when every run was OK. Logs of bad runs go to --workdir.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def executor_pids(driver_pid):
    """The executor processes a local-cluster driver started (its children)."""
    out = subprocess.run(
        ["pgrep", "-P", str(driver_pid)], capture_output=True, text=True
    ).stdout
    return [int(p) for p in out.split()]


def start(args, log):
    command = [
        args.ember_bin, "tpch", "run", "--sf", str(args.sf), "--queries", str(args.query),
        "--check", "--master", args.master,
    ]
    if args.data:
        command += ["--data", args.data]
    for conf in args.conf:
        command += ["--conf", conf]
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def finish(process, timeout):
    """'ok', 'wrong' or 'hang', and the exit code."""
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid in executor_pids(process.pid):
            os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait()
        return "hang", None
    return ("ok" if code == 0 else "wrong"), code


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--query", type=int, default=9)
    parser.add_argument("--sf", default="1")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--master", default="local-cluster[3,1,2g]")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds before a run counts as hung (default: 10x a clean run + 30)")
    parser.add_argument("--ember-bin", default="target/release/ember")
    parser.add_argument("--data", default=None, help="TPC-H data folder (default: ember's cache)")
    parser.add_argument("--conf", action="append", default=[], help="KEY=VALUE, repeatable")
    parser.add_argument("--workdir", default=None, help="where logs of bad runs are kept")
    args = parser.parse_args()

    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    workdir = args.workdir or tempfile.mkdtemp(prefix="ember-chaos-")
    os.makedirs(workdir, exist_ok=True)
    print(f"seed {seed}; Q{args.query} at SF {args.sf} on {args.master}; logs in {workdir}",
          flush=True)

    # A clean run: the answer must be right, and its duration bounds the kill moments.
    with open(os.path.join(workdir, "clean.log"), "w") as log:
        started = time.monotonic()
        verdict, code = finish(start(args, log), args.timeout or 3600)
        clean = time.monotonic() - started
    if verdict != "ok":
        print(f"the clean run was not OK ({verdict}, exit {code}); see {workdir}/clean.log")
        return 2
    timeout = args.timeout or clean * 10 + 30
    print(f"clean run: {clean:.2f} s; kills land in [0, {0.9 * clean:.2f}] s; hang after {timeout:.0f} s",
          flush=True)

    counts = {"ok": 0, "wrong": 0, "hang": 0}
    for run in range(1, args.runs + 1):
        path = os.path.join(workdir, f"run{run}.log")
        with open(path, "w") as log:
            process = start(args, log)
            delay = rng.uniform(0, 0.9 * clean)
            time.sleep(delay)
            pids = executor_pids(process.pid)
            victim = rng.choice(pids) if pids else None
            if victim is not None:
                try:
                    os.kill(victim, signal.SIGKILL)
                except ProcessLookupError:
                    victim = None
            verdict, code = finish(process, timeout)
        counts[verdict] += 1
        killed = f"killed executor pid {victim}" if victim else "nothing to kill (query over)"
        print(f"run {run:3}: kill at {delay:6.2f} s, {killed:32} -> {verdict.upper()}"
              + (f" (exit {code})" if verdict == "wrong" else ""), flush=True)
        if verdict == "ok":
            os.remove(path)
        else:
            print(f"           log: {path}")
    print(f"{args.runs} runs: {counts['ok']} OK, {counts['wrong']} wrong or failed, "
          f"{counts['hang']} hung (seed {seed})")
    if counts["ok"] == args.runs and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if counts["ok"] == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
