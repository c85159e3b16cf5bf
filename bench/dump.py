"""Native dump benchmark: `migo dump` against a pymongo script doing the same dump (every
document's raw BSON, streamed into <collection>.bson), on one freshly started SecantusDB; then
`migo restore` of that dump: its verification alone (`--dry-run`: every file read to its end,
hashed and decoded against the manifest) and the whole restore (verify, load, swap).

Prints throughput (MB of BSON per second) and peak RSS of each, for two collection sizes, so
that "memory does not grow with the collection" shows as a number.

Run: bash scripts/bench-dump   (builds migo in release mode, uses the project's venv)
"""
import os
import shutil
import statistics
import sys
import tempfile

from pymongo import MongoClient
from bson.raw_bson import RawBSONDocument

from measure import measure
from server import ROOT, fresh_server

MIGO = os.path.join(ROOT, "target", "release", "migo")
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
RUNS = int(os.environ.get("BENCH_RUNS", "3"))

PYMONGO_DUMP = r"""
import os, sys
from pymongo import MongoClient
from bson.raw_bson import RawBSONDocument
uri, db_name, out = sys.argv[1:4]
db = MongoClient(uri, document_class=RawBSONDocument)[db_name]
os.makedirs(os.path.join(out, db_name))
for name in db.list_collection_names():
    with open(os.path.join(out, db_name, name + ".bson"), "wb", buffering=1 << 20) as f:
        for doc in db[name].find():
            f.write(doc.raw)
"""


def load(client, db_name, count):
    collection = client[db_name]["events"]
    batch = []
    for i in range(count):
        batch.append({"_id": i, "user": f"user-{i % 977}", "kind": ["click", "view", "buy"][i % 3],
                      "amount": i * 0.37, "tags": ["a", "b", str(i % 13)],
                      "payload": {"path": f"/items/{i}", "ref": "x" * 40}})
        if len(batch) == 5000:
            collection.insert_many(batch)
            batch = []
    if batch:
        collection.insert_many(batch)


def bson_megabytes(directory):
    total = 0
    for root, _, files in os.walk(directory):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files if f.endswith(".bson"))
    return total / 1e6


def main():
    with fresh_server() as uri:
        client = MongoClient(uri, serverSelectionTimeoutMS=30000)
        client.admin.command("ping")
        rows = []
        for count in SIZES:
            db_name = f"bench_{count}"
            load(client, db_name, count)
            work = tempfile.mkdtemp(prefix="migo-bench-")
            with open(os.path.join(work, "migo.toml"), "w") as f:
                f.write(f'[mongo]\nuri = "{uri}"\ndatabase = "{db_name}"\n\n'
                        '[dump]\ndirectory = "dumps"\ncollections = ["events"]\n')
            os.makedirs(os.path.join(work, "mongomigrations"))
            results = {"migo dump (native)": [], "pymongo script": []}
            for _ in range(RUNS):
                shutil.rmtree(os.path.join(work, "dumps"), ignore_errors=True)
                results["migo dump (native)"].append(measure([MIGO, "-q", "dump"], work) + (bson_megabytes(os.path.join(work, "dumps")),))
                out = os.path.join(work, "py")
                shutil.rmtree(out, ignore_errors=True)
                results["pymongo script"].append(measure([sys.executable, "-c", PYMONGO_DUMP, uri, db_name, out], work) + (bson_megabytes(out),))
            # The last dump, proved (`--dry-run` stops after the checks) and restored.
            dumps = os.path.join(work, "dumps")
            dump = os.path.join(dumps, os.listdir(dumps)[0])
            dumped = bson_megabytes(dump)
            results["migo restore --dry-run (verify)"] = [
                measure([MIGO, "-q", "restore", dump, "--dry-run"], work) + (dumped,)
                for _ in range(RUNS)
            ]
            results["migo restore (verify, load, swap)"] = [
                measure([MIGO, "-q", "restore", dump, "--yes"], work) + (dumped,)
                for _ in range(RUNS)
            ]
            # `migo test` on a migration touching every document: up, down, up on scratch copies,
            # compared streaming (its memory must not grow with the collection).
            with open(os.path.join(work, "mongomigrations", "0001_flag.json"), "w") as f:
                f.write('{"up": [{"update": "events", "updates": [{"q": {}, "u": {"$set": {"flag": true}}, "multi": true}]}],'
                        ' "down": [{"update": "events", "updates": [{"q": {}, "u": {"$unset": {"flag": ""}}, "multi": true}]}]}')
            trial = measure([MIGO, "-q", "test", "0001_flag"], work)
            results["migo test (up, down, up)"] = [trial + (bson_megabytes(os.path.join(work, "dumps")),)]
            for tool, samples in results.items():
                seconds = statistics.median(s[0] for s in samples)
                rss = max(s[1] for s in samples)
                megabytes = samples[0][2]
                rows.append((count, tool, megabytes, seconds, megabytes / seconds, rss))
            shutil.rmtree(work)
        print(f"native dump benchmark: SecantusDB 0.7.0b3 in memory, median of {RUNS} runs, peak RSS is the max")
        print()
        print("| documents | run | BSON MB | seconds | MB/s | peak RSS MB |")
        print("|---:|---|---:|---:|---:|---:|")
        for count, tool, megabytes, seconds, rate, rss in rows:
            print(f"| {count:,} | {tool} | {megabytes:.1f} | {seconds:.2f} | {rate:.1f} | {rss:.1f} |")


if __name__ == "__main__":
    main()
