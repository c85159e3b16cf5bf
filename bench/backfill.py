"""Backfill benchmark: one freshly started SecantusDB (or BENCH_URI), the same collection and
update for every contender.

1. Throughput on BENCH_DOCS (20,000) documents, BENCH_BATCH (1,000) per batch, BENCH_RUNS (3)
   interleaved rounds: migo's `.json`
   backfill (a release build, through `migo execute`), the floor (examples/bench_backfill_floor:
   an in-process Rust loop issuing the same ranged updates, nothing else), and the loop a
   migrate-mongo user writes by hand (Node driver: a cursor and a bulkWrite of updateOnes per
   batch). Documents per second for each; migo against the floor as a ratio.
2. Memory: migo's peak RSS on 10,000 and on BENCH_BIG (200,000) documents, batches of 10,000.
3. The ETA: on the big run, the first estimate given after 10% of the documents, against the
   time the rest really took.

Run: bash scripts/bench-backfill. Prints Markdown tables.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from pymongo import MongoClient

from measure import measure
from server import ROOT, fresh_server

PROFILE = os.environ.get("BENCH_PROFILE", "release")
TARGET = os.path.join(ROOT, "target", PROFILE if PROFILE == "release" else "debug")
MIGO = os.path.join(TARGET, "migo")
FLOOR = os.path.join(TARGET, "examples", "bench_backfill_floor")
NODE_DRIVER = os.path.join(ROOT, ".tools", "node-driver", "node_modules")
DOCS = int(os.environ.get("BENCH_DOCS", "20000"))
BATCH = int(os.environ.get("BENCH_BATCH", "1000"))
BIG = int(os.environ.get("BENCH_BIG", "200000"))
SMALL = int(os.environ.get("BENCH_SMALL", "10000"))
BIG_BATCH = int(os.environ.get("BENCH_BIG_BATCH", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def fill(client, database, n):
    """`users` with n fresh documents, none with a status."""
    users = client[database].users
    users.drop()
    chunk = 10_000
    for start in range(0, n, chunk):
        users.insert_many([{"_id": i, "n": i, "pad": "x" * 64} for i in range(start, min(n, start + chunk))])
    return users


def project(uri, database, batch):
    """A project with one backfill migration over `users`."""
    root = tempfile.mkdtemp(prefix="migo-bench-backfill-")
    os.mkdir(os.path.join(root, "mongomigrations"))
    with open(os.path.join(root, "migo.toml"), "w") as f:
        f.write(f'[mongo]\nuri = "{uri}"\ndatabase = "{database}"\ntimeout_secs = 60\n')
    with open(os.path.join(root, "mongomigrations", "0001_status.json"), "w") as f:
        json.dump({"description": "every user gets a status",
                   "backfill": {"collection": "users", "filter": {"status": {"$exists": False}},
                                "update": {"$set": {"status": "active"}}, "batch_size": batch}}, f)
    return root


def migo(uri, database, n, batch):
    """Seconds and peak RSS of `migo execute` backfilling n documents."""
    client = MongoClient(uri)
    client.drop_database(database)
    users = fill(client, database, n)
    root = project(uri, database, batch)
    seconds, rss = measure([MIGO, "execute"], root)
    assert users.count_documents({"status": "active"}) == n, "migo missed documents"
    return seconds, rss


def floor(uri, database, n, batch):
    client = MongoClient(uri)
    client.drop_database(database)
    users = fill(client, database, n)
    seconds, _ = measure([FLOOR, uri, database, "users", str(batch)], ROOT)
    assert users.count_documents({"status": "active"}) == n, "the floor missed documents"
    return seconds


def node(uri, database, n, batch):
    client = MongoClient(uri)
    client.drop_database(database)
    users = fill(client, database, n)
    env = dict(os.environ, NODE_PATH=NODE_DRIVER)
    started = time.perf_counter()
    subprocess.run(["node", os.path.join(ROOT, "bench", "backfill_node.js"), uri, database, "users",
                    str(batch)], check=True, env=env, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    assert users.count_documents({"status": "active"}) == n, "the node loop missed documents"
    return seconds


def eta_accuracy(uri, database, n, batch):
    """The first ETA migo gives once 10% is done, and the time the rest then really took."""
    client = MongoClient(uri)
    client.drop_database(database)
    fill(client, database, n)
    root = project(uri, database, batch)
    child = subprocess.Popen([MIGO, "execute", "--json"], cwd=root, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    first = None
    for line in child.stderr:
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("event") == "batch" and first is None and event["done"] >= n / 10:
            first = (time.perf_counter(), event["eta_secs"], event["done"])
    child.wait()
    ended = time.perf_counter()
    if first is None or first[1] is None:
        return None
    at, eta, done = first
    return eta, ended - at, done


def main():
    uri_given = os.environ.get("BENCH_URI")
    with (fresh_server() if not uri_given else _given(uri_given)) as uri:
        database = "bench_backfill"
        # Interleaved rounds, so that a machine busy with something else slows every contender
        # alike; min and median of each.
        times = {"migo": [], "floor": [], "node": []}
        for _ in range(RUNS):
            times["migo"].append(migo(uri, database, DOCS, BATCH)[0])
            times["floor"].append(floor(uri, database, DOCS, BATCH))
            times["node"].append(node(uri, database, DOCS, BATCH))
        med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
        print(f"\n{DOCS:,} documents, batches of {BATCH:,}, one SecantusDB, {PROFILE} build, "
              f"{RUNS} interleaved runs:\n")
        print("| contender | min s | median s | documents/s (median) |")
        print("|---|---:|---:|---:|")
        for key, name in [("migo", "migo `.json` backfill"),
                          ("floor", "floor: in-process Rust loop, same ranged updates"),
                          ("node", "hand-written Node loop: cursor + bulkWrite")]:
            print(f"| {name} | {min(times[key]):.2f} | {med[key]:.2f} | {DOCS / med[key]:,.0f} |")
        print(f"\nmigo / floor throughput (medians): {med['floor'] / med['migo']:.2f}×; "
              f"migo / Node loop: {med['node'] / med['migo']:.2f}×")
        small_secs, small_rss = migo(uri, database, SMALL, BIG_BATCH)
        big_secs, big_rss = migo(uri, database, BIG, BIG_BATCH)
        print(f"\nmigo's memory, batches of {BIG_BATCH:,}:\n")
        print("| documents | seconds | documents/s | peak RSS (MB) |")
        print("|---:|---:|---:|---:|")
        print(f"| {SMALL:,} | {small_secs:.2f} | {SMALL / small_secs:,.0f} | {small_rss:.1f} |")
        print(f"| {BIG:,} | {big_secs:.2f} | {BIG / big_secs:,.0f} | {big_rss:.1f} |")
        print(f"\npeak RSS, {BIG:,} against {SMALL:,}: {big_rss / small_rss:.2f}×")
        accuracy = eta_accuracy(uri, database, BIG, BIG_BATCH)
        if accuracy:
            eta, real, done = accuracy
            print(f"\nETA after {done:,} of {BIG:,} documents: {eta} s estimated, {real:.1f} s "
                  f"taken ({(eta - real) / real * 100:+.0f}%)")


class _given:
    def __init__(self, uri):
        self.uri = uri

    def __enter__(self):
        return self.uri

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    sys.exit(main())
