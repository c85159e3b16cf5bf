"""Preflight benchmark: what `migo preflight` costs per pending step, in round trips (commands
counted with `MIGO_LOG=migo::wire=trace`) and in time, on a 100,000-document collection: an
update whose filter an index serves (exact count), one no index serves (an estimate from a
`$sample`), a new unique index (the duplicates' `$group` over the whole collection) and a new
validator (the documents failing it, a whole-collection `$match`).

Run: bash scripts/bench-preflight   (builds migo in release mode, uses the project's venv)
BENCH_DOCUMENTS=100000 and BENCH_RUNS=3 by default.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from pymongo import MongoClient

from server import ROOT, fresh_server

MIGO = os.path.join(ROOT, "target", "release", "migo")
DOCUMENTS = int(os.environ.get("BENCH_DOCUMENTS", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))

UNINDEXED = '{"up": [{"update": "events", "updates": [{"q": {"kind": "buy"}, "u": {"$set": {"seen": true}}, "multi": true}]}], "down": []}'

# Each pending step, and the variables of its runs.
STEPS = {
    "update, indexed filter (exact)":
        ('{"up": [{"update": "events", "updates": [{"q": {"user": "user-7"}, "u": {"$set": {"seen": true}}, "multi": true}]}], "down": []}', {}),
    "update, unindexed filter (estimate)": (UNINDEXED, {}),
    # What the estimate saves: the same filter counted by scanning the whole collection.
    "update, unindexed filter, counted by a full scan": (UNINDEXED, {"MIGO_TEST_PREFLIGHT_SCAN_LIMIT": "1000000"}),
    "unique index (duplicates)":
        ('{"up": [{"createIndexes": "events", "indexes": [{"key": {"ref": 1}, "name": "ref_1", "unique": true}]}], "down": []}', {}),
    "validator (failing documents)":
        ('{"up": [{"collMod": "events", "validator": {"$jsonSchema": {"required": ["kind", "amount"]}}}], "down": []}', {}),
}


def load(client, db_name):
    events = client[db_name]["events"]
    batch = []
    for i in range(DOCUMENTS):
        batch.append({"_id": i, "user": f"user-{i % 977}", "kind": ["click", "view", "buy"][i % 3],
                      "amount": i * 0.37, "ref": f"r{i}", "payload": {"path": f"/items/{i}"}})
        if len(batch) == 5000:
            events.insert_many(batch)
            batch = []
    if batch:
        events.insert_many(batch)
    events.create_index("user", name="user_1")


def run(work, extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGO_")}
    env.update(extra_env or {})
    started = time.perf_counter()
    done = subprocess.run([MIGO, "preflight"], cwd=work, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 14):
        sys.exit(f"migo preflight failed: {done.stderr}")
    return elapsed, done


def commands(work, extra_env):
    _, done = run(work, {"MIGO_LOG": "migo::wire=trace", **extra_env})
    return sum(1 for line in done.stderr.splitlines() if "migo::wire" in line)


def main():
    with fresh_server() as uri:
        client = MongoClient(uri, serverSelectionTimeoutMS=30000)
        db_name = "bench_preflight"
        load(client, db_name)
        rows = []
        for label, (body, extra_env) in STEPS.items():
            work = tempfile.mkdtemp(prefix="migo-bench-")
            with open(os.path.join(work, "migo.toml"), "w") as f:
                f.write(f'[mongo]\nuri = "{uri}"\ndatabase = "{db_name}"\ntimeout_secs = 60\n')
            os.makedirs(os.path.join(work, "mongomigrations"))
            # No pending step: the fixed cost (the registry read), subtracted below.
            fixed = commands(work, extra_env)
            with open(os.path.join(work, "mongomigrations", "0001_step.json"), "w") as f:
                f.write(body)
            sent = commands(work, extra_env) - fixed
            seconds = statistics.median(run(work, extra_env)[0] for _ in range(RUNS))
            rows.append((label, sent, seconds))
            shutil.rmtree(work)
        print(f"preflight benchmark: SecantusDB 0.7.0b3 in memory, {DOCUMENTS:,} documents, "
              f"median of {RUNS} runs of the whole `migo preflight` process")
        print()
        print("| pending step | commands for the step | seconds |")
        print("|---|---:|---:|")
        for label, sent, seconds in rows:
            print(f"| {label} | {sent} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
