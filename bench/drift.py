"""Drift and squash benchmark: `migo --fleet drift` on many tenant databases, and a fresh database
brought up by 200 migrations against their checkpoint, on one freshly started SecantusDB.

1. `drift --fleet` on N tenants (BENCH_TENANTS, 100) migrated by 10 migrations (3 collections,
   validators, 9 indexes), one tenant in ten given an index by hand: `--jobs 1` against
   `--jobs 8`, through a latency proxy (5 ms each way, as a hosted cluster seen from CI) that
   counts the requests the client sends, and without it. The drift found is checked.
2. `execute` on a fresh database: 200 migrations (20 collections with validators, 180 indexes)
   against the checkpoint `migo squash` writes for them, through the proxy: time and requests.

Run: bash scripts/bench-drift   (CI runs BENCH_TENANTS=10 with a debug build)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from pymongo import MongoClient

from fleet import LatencyProxy
from measure import measure
from server import ROOT, fresh_server

PROFILE = os.environ.get("BENCH_PROFILE", "release")
MIGO = os.path.join(ROOT, "target", PROFILE if PROFILE == "release" else "debug", "migo")
N = int(os.environ.get("BENCH_TENANTS", "100"))
DRIFTED = max(1, N // 10)

SCHEMA = [
    {"create": "users", "validator": {"email": {"$type": "string"}}},
    {"createIndexes": "users", "indexes": [{"key": {"email": 1}, "name": "email_1", "unique": True}]},
    {"createIndexes": "users", "indexes": [{"key": {"team": 1, "name": 1}, "name": "team_name",
                                            "partialFilterExpression": {"active": True}}]},
    {"create": "orders", "validator": {"total": {"$gte": 0}}, "validationLevel": "moderate"},
    {"createIndexes": "orders", "indexes": [{"key": {"user": 1, "at": -1}, "name": "user_at"}]},
    {"createIndexes": "orders", "indexes": [{"key": {"status": 1}, "name": "status_1", "sparse": True}]},
    {"createIndexes": "events", "indexes": [{"key": {"at": 1}, "name": "at_1", "expireAfterSeconds": 86400}]},
    {"createIndexes": "events", "indexes": [{"key": {"kind": 1}, "name": "kind_1"}]},
    {"createIndexes": "events", "indexes": [{"key": {"user": 1}, "name": "user_1"}]},
    {"createIndexes": "users", "indexes": [{"key": {"created": -1}, "name": "created_-1"}]},
]


def project(uri, migrations, extra=""):
    work = tempfile.mkdtemp(prefix="migo-bench-drift-")
    with open(os.path.join(work, "migo.toml"), "w") as f:
        f.write(f'[mongo]\nuri = "{uri}"\ndatabase = "app"\n\n[fleet]\ndatabases = "^tenant_"\n\n'
                f'[drift]\nignore = ["^seed$"]\n{extra}')
    os.mkdir(os.path.join(work, "mongomigrations"))
    for n, command in enumerate(migrations, 1):
        with open(os.path.join(work, "mongomigrations", f"{n:04d}_m{n}.json"), "w") as f:
            json.dump({"up": [command]}, f)
    return work


def tenants(client, count):
    for name in client.list_database_names():
        if name.startswith("tenant_"):
            client.drop_database(name)
    for i in range(count):
        client[f"tenant_{i:04d}"]["seed"].insert_one({"_id": 0})


def run(argv, cwd, ok=(0,)):
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode not in ok:
        sys.exit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr}")
    return done


def two_hundred():
    """200 migrations: 20 collections created with a validator, then 9 indexes each."""
    commands = []
    for i in range(1, 201):
        collection = f"c{(i - 1) % 20:02d}"
        if i <= 20:
            commands.append({"create": collection, "validator": {"n": {"$type": "int"}}})
            continue
        index = {"key": {f"f{i}": 1}, "name": f"f{i}_1"}
        if i % 3 == 0:
            index["unique"] = True
        if i % 7 == 0:
            index["expireAfterSeconds"] = 600
        commands.append({"createIndexes": collection, "indexes": [index]})
    return commands


def main():
    if not os.path.exists(MIGO):
        sys.exit(f"{MIGO} is missing")
    rows = []
    with fresh_server() as uri:
        client = MongoClient(uri)
        host, port = uri.split("://", 1)[1].rsplit(":", 1)
        proxy = LatencyProxy(host, int(port))
        slow = f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"
        direct = project(uri, SCHEMA)
        tenants(client, N)
        run([MIGO, "--fleet", "execute", "--jobs", "8"], direct)
        for i in range(0, N, N // DRIFTED):
            client[f"tenant_{i:04d}"]["users"].create_index("by_hand")
        through = project(slow, SCHEMA)
        for label, work in (("through the proxy", through), ("no proxy", direct)):
            for jobs in (1, 8):
                proxy.take_count()
                elapsed, rss = measure([MIGO, "--fleet", "drift", "--jobs", str(jobs)], work, ok=(14,))
                requests = proxy.take_count() if work == through else None
                rows.append((f"`drift --fleet --jobs {jobs}`, {N} tenants, {label}", f"{elapsed:.2f}",
                             f"{elapsed / N * 1000:.0f}", f"{rss:.1f}",
                             "" if requests is None else f"{requests / N:.1f}"))
        report = json.loads(run([MIGO, "--fleet", "drift", "--json"], direct, ok=(14,)).stdout)
        if report["totals"]["drift"] != DRIFTED:
            sys.exit(f"expected {DRIFTED} drifted tenants, found {report['totals']['drift']}")
        shutil.rmtree(direct)
        shutil.rmtree(through)

        history = project(slow, two_hundred())
        for label in ("200 migrations", "their checkpoint"):
            database = "fresh_history" if label == "200 migrations" else "fresh_checkpoint"
            client.drop_database(database)
            proxy.take_count()
            elapsed, rss = measure([MIGO, "--database", database, "execute"], history)
            requests = proxy.take_count()
            rows.append((f"`execute` on a fresh database, {label}, through the proxy",
                         f"{elapsed:.2f}", "", f"{rss:.1f}", f"{requests}"))
            if label == "200 migrations":
                run([MIGO, "--database", database, "squash", "--to", "0200_m200"], history)
        same = [run([MIGO, "--database", d, "snapshot"], history).stdout
                for d in ("fresh_history", "fresh_checkpoint")]
        if same[0] != same[1]:
            sys.exit("the checkpoint's schema differs from the history's")
        shutil.rmtree(history)
    print(f"Drift and squash: {N} tenant databases of 10 migrations ({DRIFTED} drifted), SecantusDB "
          f"0.7.0b3 in memory, migo {PROFILE} build, one run each")
    print()
    print("| run | seconds | ms per database | peak RSS (MB) | requests (per database) |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
