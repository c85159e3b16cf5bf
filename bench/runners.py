"""Migration runners compared (`cargo make bench` / `bash scripts/bench`): migo against
migrate-mongo and a raw-driver floor, on one freshly started SecantusDB, N one-insert migrations:

  status, N pending   migo list            | migrate-mongo status | floor: count the registry
  up, N migrations    migo execute         | migrate-mongo up     | floor: insert + registry insert each
  status, N applied   migo list            | migrate-mongo status | floor: count the registry
  roll back one       migo rollback --last 1 | migrate-mongo down |

Every operation is a whole process run, as a user runs it (startup included). Each run uses a
fresh database; the table shows medians over BENCH_RUNS runs and the ratios.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from server import ROOT, SERVER, fresh_server

PROFILE = os.environ.get("BENCH_PROFILE", "release")
MIGO = os.path.join(ROOT, "target", PROFILE, "migo")
FLOOR = os.path.join(ROOT, "target", PROFILE, "examples", "bench_floor")
MIGRATE_MONGO = os.path.join(ROOT, ".tools", "node", "node_modules", ".bin", "migrate-mongo")
N = int(os.environ.get("BENCH_MIGRATIONS", "200"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def timed(argv, cwd):
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()}{done.stdout.decode()}")
    return elapsed, done.stdout.decode()


def migo_project(uri, database):
    work = tempfile.mkdtemp(prefix="bench-migo-")
    with open(os.path.join(work, "migo.toml"), "w") as f:
        f.write(f'[mongo]\nuri = "{uri}"\ndatabase = "{database}"\n')
    os.makedirs(os.path.join(work, "mongomigrations"))
    for n in range(1, N + 1):
        body = {"up": [{"insert": "items", "documents": [{"_id": n}]}],
                "down": [{"delete": "items", "deletes": [{"q": {"_id": n}, "limit": 1}]}]}
        with open(os.path.join(work, "mongomigrations", f"{n:04}_m{n}.json"), "w") as f:
            json.dump(body, f)
    return work


def migrate_mongo_project(uri, database):
    work = tempfile.mkdtemp(prefix="bench-mm-")
    with open(os.path.join(work, "migrate-mongo-config.js"), "w") as f:
        f.write("module.exports = {\n"
                f"  mongodb: {{ url: {json.dumps(uri)}, databaseName: {json.dumps(database)}, options: {{}} }},\n"
                '  migrationsDir: "migrations", changelogCollectionName: "changelog",\n'
                '  migrationFileExtension: ".js", useFileHash: false, moduleSystem: "commonjs",\n'
                "};\n")
    os.makedirs(os.path.join(work, "migrations"))
    for n in range(1, N + 1):
        with open(os.path.join(work, "migrations", f"{n:04}-m{n}.js"), "w") as f:
            f.write("module.exports = {\n"
                    f"  async up(db) {{ await db.collection('items').insertOne({{ _id: {n} }}); }},\n"
                    f"  async down(db) {{ await db.collection('items').deleteOne({{ _id: {n} }}); }},\n"
                    "};\n")
    return work


def check(condition, message):
    if not condition:
        sys.exit(f"benchmark sanity check failed: {message}")


def run_once(uri, run):
    results = {}
    db = f"bench_migo_{run}"
    work = migo_project(uri, db)
    results["migo"] = [
        timed([MIGO, "list"], work),
        timed([MIGO, "execute"], work),
        timed([MIGO, "list"], work),
        timed([MIGO, "rollback", "--last", "1"], work),
    ]
    check(f"{N} migrations: {N} pending" in results["migo"][0][1], "migo saw pending migrations")
    check(f"{N} migration(s) applied" in results["migo"][1][1], "migo applied them all")
    check(f"{N} migrations: {N} applied" in results["migo"][2][1], "migo listed them applied")
    shutil.rmtree(work)

    db = f"bench_mm_{run}"
    work = migrate_mongo_project(uri, db)
    results["migrate-mongo"] = [
        timed([MIGRATE_MONGO, "status"], work),
        timed([MIGRATE_MONGO, "up"], work),
        timed([MIGRATE_MONGO, "status"], work),
        timed([MIGRATE_MONGO, "down"], work),
    ]
    check(results["migrate-mongo"][0][1].count("PENDING") == N, "migrate-mongo saw pending migrations")
    check(results["migrate-mongo"][1][1].count("MIGRATED UP") == N, "migrate-mongo applied them all")
    shutil.rmtree(work)

    db = f"bench_floor_{run}"
    results["floor"] = [
        timed([FLOOR, uri, db, str(N), "status"], ROOT),
        timed([FLOOR, uri, db, str(N), "up"], ROOT),
        timed([FLOOR, uri, db, str(N), "status"], ROOT),
    ]
    check(results["floor"][2][1].startswith(f"{N} of"), "the floor applied them all")
    return {tool: [t for t, _ in samples] for tool, samples in results.items()}


def cargo_make_rows(uri):
    """`cargo make migrations` against `migo list` in examples/service, migo installed (on PATH):
    cargo-make's own cost, with no build step."""
    if subprocess.run(["cargo", "make", "--version"], capture_output=True).returncode != 0:
        return None
    work = tempfile.mkdtemp(prefix="bench-service-")
    shutil.copytree(os.path.join(ROOT, "examples", "service"), work, dirs_exist_ok=True)
    config = os.path.join(work, "migo.toml")
    with open(config) as f:
        text = f.read().replace("mongodb://localhost:27017", uri)
    with open(config, "w") as f:
        f.write(text)
    bin_dir = os.path.join(work, ".bin")
    os.makedirs(bin_dir)
    shutil.copy(MIGO, os.path.join(bin_dir, "migo"))
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ["PATH"])
    env = {k: v for k, v in env.items() if not k.startswith("MIGO_")}
    def run(argv):
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=work, env=env, capture_output=True)
        check(done.returncode == 0, f"{argv} failed: {done.stderr.decode()}")
        check(b"0001_create_users" in done.stdout, f"{argv} listed the migrations")
        return time.perf_counter() - started
    rows = {"cargo make migrations": [run(["cargo", "make", "migrations"]) for _ in range(RUNS)],
            "migo list": [run(["migo", "list"]) for _ in range(RUNS)]}
    shutil.rmtree(work)
    return {name: statistics.median(times) for name, times in rows.items()}


NODE_MODULES = os.path.join(ROOT, ".tools", "node", "node_modules")
MONGOSH = os.path.join(NODE_MODULES, ".bin", "mongosh")
PYTHON = os.path.join(ROOT, ".tools", "venv", "bin", "python")
PYMONGO_FLOOR = """
import sys, pymongo
uri, database, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = pymongo.MongoClient(uri)[database]
for i in range(1, n + 1):
    db.items.insert_one({"_id": i})
    db.registry.insert_one({"_id": i})
"""


def numbered_project(uri, database, runner, extension, body):
    """A project with N migrations `NNNN_mN.<extension>` whose text is `body(n)`, and `runner`
    (a `[migrations]` line naming the interpreter)."""
    work = tempfile.mkdtemp(prefix=f"bench-{extension}-")
    with open(os.path.join(work, "migo.toml"), "w") as f:
        f.write(f'[mongo]\nuri = "{uri}"\ndatabase = "{database}"\n\n[migrations]\n{runner}\n')
    os.makedirs(os.path.join(work, "mongomigrations"))
    for n in range(1, N + 1):
        with open(os.path.join(work, "mongomigrations", f"{n:04}_m{n}.{extension}"), "w") as f:
            f.write(body(n))
    return work


def interpreted_rows(uri):
    """N one-insert migrations as migrate-mongo CommonJS files (migo's Node runner against
    migrate-mongo on the same files), as mongosh scripts, and as migopy modules (against a
    pymongo loop doing the same inserts and registry inserts)."""
    rows = []
    # CommonJS: the same files for both tools.
    work = migrate_mongo_project(uri, "bench_cjs_mm")
    mm_up = timed([MIGRATE_MONGO, "up"], work)[0]
    mm_status = timed([MIGRATE_MONGO, "status"], work)[0]
    with open(os.path.join(work, "migo.toml"), "w") as f:
        f.write(f'[mongo]\nuri = "{uri}"\ndatabase = "bench_cjs_migo"\n\n'
                '[migrations]\ndirectory = "migrations"\npattern = \'^(?P<number>[0-9]+)-[A-Za-z0-9_]+\\.js$\'\n')
    env = dict(os.environ, NODE_PATH=NODE_MODULES)
    def migo(args):
        started = time.perf_counter()
        done = subprocess.run([MIGO] + args, cwd=work, env=env, capture_output=True)
        check(done.returncode == 0, f"migo {args} failed: {done.stderr.decode()}")
        return time.perf_counter() - started, done.stdout.decode()
    up, out = migo(["execute"])
    check(f"{N} migration(s) applied" in out, "migo applied the CommonJS files")
    status, _ = migo(["list"])
    rows.append(("CommonJS (node), up", up, mm_up, None))
    rows.append(("CommonJS (node), status", status, mm_status, None))
    shutil.rmtree(work)
    # mongosh scripts.
    work = numbered_project(uri, "bench_js", f'mongosh = "{MONGOSH}"', "js", lambda n: (
        f"function up() {{ db.items.insertOne({{ _id: {n} }}); }}\n"
        f"function down() {{ db.items.deleteOne({{ _id: {n} }}); }}\n"))
    up, out = timed([MIGO, "execute"], work)
    check(f"{N} migration(s) applied" in out, "migo applied the mongosh files")
    rows.append(("mongosh .js, up", up, None, None))
    shutil.rmtree(work)
    # migopy modules against a pymongo loop.
    work = numbered_project(uri, "bench_py", f'python = "{PYTHON}"', "py", lambda n: (
        f"def up(db):\n    db.items.insert_one({{'_id': {n}}})\n\n\n"
        f"def down(db):\n    db.items.delete_one({{'_id': {n}}})\n"))
    up, out = timed([MIGO, "execute"], work)
    check(f"{N} migration(s) applied" in out, "migo applied the Python modules")
    floor, _ = timed([PYTHON, "-c", PYMONGO_FLOOR, uri, "bench_py_floor", str(N)], work)
    rows.append(("migopy .py, up", up, None, floor))
    shutil.rmtree(work)
    return rows


def main():
    for program in (MIGO, FLOOR, MIGRATE_MONGO, SERVER):
        check(os.path.exists(program), f"{program} is missing")
    with fresh_server() as uri:
        samples = [run_once(uri, run) for run in range(RUNS)]
        plugin = cargo_make_rows(uri)
        interpreted = interpreted_rows(uri)
    operations = [f"status, {N} pending", f"up, {N} migrations", f"status, {N} applied", "roll back one"]
    median = {tool: [statistics.median(s[tool][i] for s in samples) if i < len(samples[0][tool]) else None
                     for i in range(4)] for tool in samples[0]}
    print(f"{N} one-insert migrations, SecantusDB 0.7.0b3 in memory, median of {RUNS} runs, "
          f"seconds per command (whole process), migo {PROFILE} build")
    print()
    print("| operation | migo | migrate-mongo | raw-driver floor | migrate-mongo ÷ migo | migo ÷ floor |")
    print("|---|---:|---:|---:|---:|---:|")
    for i, operation in enumerate(operations):
        migo, mm, floor = median["migo"][i], median["migrate-mongo"][i], median["floor"][i]
        floor_text = f"{floor:.3f}" if floor is not None else "—"
        over_floor = f"{migo / floor:.2f}×" if floor is not None else "—"
        print(f"| {operation} | {migo:.3f} | {mm:.3f} | {floor_text} | {mm / migo:.1f}× | {over_floor} |")
    print()
    print(f"{N} one-insert migrations per kind, one run each (seconds, whole process):")
    print()
    print("| migrations | migo | migrate-mongo | pymongo loop floor |")
    print("|---|---:|---:|---:|")
    for name, migo, mm, floor in interpreted:
        mm_text = f"{mm:.3f}" if mm is not None else "—"
        floor_text = f"{floor:.3f}" if floor is not None else "—"
        print(f"| {name} | {migo:.3f} | {mm_text} | {floor_text} |")
    if plugin:
        print()
        print(f"examples/service (2 migrations), migo installed, median of {RUNS} runs:")
        print()
        print("| command | seconds |")
        print("|---|---:|")
        for name, seconds in plugin.items():
            print(f"| `{name}` | {seconds:.3f} |")


if __name__ == "__main__":
    main()
