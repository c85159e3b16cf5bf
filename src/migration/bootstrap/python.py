# migo's Python session: migopy's migrations (modules defining up(db) and down(db), given a
# pymongo Database) run unchanged, with pymongo 2's calls mapped (legacy_pymongo.py, run after
# this file, once pymongo is known to be there).
#
# The channel is migo's own, never stdout: requests arrive on fd 3, answers leave on fd 4, each
# framed as a 4-byte big-endian length and a JSON document. A request carries the migration's
# code (the bytes migo hashed), executed here as a fresh module named after its original path.
# The answer says whether the requested function was found and called, and run to its end: a
# coroutine is awaited, a generator exhausted. A code backfill's `batch(db, batch)` is called once
# per request with the batch as a dict (its `_id`s and filter turned from Extended JSON into
# bson's types). A failure carries the traceback's frames that are
# in the migration file. The connection string comes from the environment (MIGO_URI), never
# from argv.
import asyncio
import inspect
import json
import linecache
import os
import platform
import struct
import sys
import traceback
import types

CHANNEL_IN, CHANNEL_OUT = 3, 4
for _fd in (CHANNEL_IN, CHANNEL_OUT):
    os.set_inheritable(_fd, False)  # not for the migration's own children


def send(message):
    body = json.dumps(message).encode("utf-8")
    frame = struct.pack(">I", len(body)) + body
    while frame:
        frame = frame[os.write(CHANNEL_OUT, frame):]


def read_exactly(count):
    data = b""
    while len(data) < count:
        chunk = os.read(CHANNEL_IN, count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def receive():
    header = read_exactly(4)
    if header is None:
        return None
    body = read_exactly(struct.unpack(">I", header)[0])
    return None if body is None else json.loads(body.decode("utf-8"))


def frames(error, path):
    """The traceback's frames in the migration file, innermost last."""
    found = [
        {"file": f.filename, "line": f.lineno, "function": f.name, "source": (f.line or "").strip()}
        for f in traceback.extract_tb(error.__traceback__)
        if f.filename == path
    ]
    if not found and isinstance(error, SyntaxError) and error.filename == path:
        found.append({"file": path, "line": error.lineno or 0, "function": "<module>",
                      "source": (error.text or "").strip()})
    return found[-5:]


def failure(request, stage, error):
    message = "%s: %s" % (type(error).__name__, error)
    sys.stderr.write(message + "\n")
    return {"type": "result", "id": request["id"], "ok": False, "stage": stage,
            "error": message, "frames": frames(error, request["path"])}


async def finish(result):
    if inspect.isasyncgen(result):
        async for _ in result:
            pass
    else:
        await result


def run(client, request):
    path, code, direction = request["path"], request["code"], request["direction"]
    # Tracebacks show the lines that ran, not the file as it is now.
    linecache.cache[path] = (len(code), None, code.splitlines(True), path)
    directory = os.path.dirname(path)
    package = None
    if os.path.exists(os.path.join(directory, "__init__.py")):
        package = os.path.basename(directory)  # migopy imported `mongomigrations.0001_x`
    stem = os.path.splitext(os.path.basename(path))[0]
    name = "%s.%s" % (package, stem) if package else "migo_migration_" + stem
    module = types.ModuleType(name)
    module.__file__ = path
    module.__package__ = package
    sys.modules[name] = module
    try:
        try:
            exec(compile(code, path, "exec", dont_inherit=True), module.__dict__)
        except BaseException as error:  # noqa: B036 - a migration's failure is its own
            return failure(request, "load", error)
        step = module.__dict__.get(direction)
        batch = request.get("batch")
        if not callable(step):
            signature = "(db, batch)" if batch is not None else "(db)"
            message = "%s defines no %s%s function" % (request["name"], direction, signature)
            sys.stderr.write(message + "\n")
            return {"type": "result", "id": request["id"], "ok": False, "stage": "missing",
                    "error": message}
        try:
            db = LegacyDatabase(client, request["database"])  # noqa: F821
            if batch is not None:
                from bson import json_util

                result = step(db, json_util.loads(json.dumps(batch)))
            else:
                result = step(db)
            if inspect.isawaitable(result) or inspect.isasyncgen(result):
                asyncio.run(finish(result))
            elif inspect.isgenerator(result):
                for _ in result:
                    pass
        except BaseException as error:  # noqa: B036 - SystemExit and Ctrl-C fail the step too
            return failure(request, "call", error)
        return {"type": "result", "id": request["id"], "ok": True, "called": direction}
    finally:
        sys.modules.pop(name, None)
        sys.stdout.flush()
        sys.stderr.flush()


def check_pymongo():
    """Answers `unavailable` and ends when this Python has no pymongo."""
    try:
        import pymongo  # noqa: F401
    except Exception as error:  # noqa: BLE001
        send({"type": "unavailable",
              "error": "`%s` cannot import pymongo (%s: %s)" % (sys.executable, type(error).__name__, error),
              "hint": "install it for that interpreter (`%s -m pip install pymongo`), or point "
                      "`[migrations] python` (or `[migrations.interpreters] py`) at one that has it"
                      % sys.executable})
        sys.exit(3)


def main():
    import pymongo

    migrations = os.environ.get("MIGO_MIGRATIONS_DIR", "")
    # Siblings import as in migopy: `import helpers` from the migrations directory or the
    # project's, `from . import helpers` in a package directory.
    for directory in (os.path.dirname(migrations), os.environ.get("MIGO_PROJECT_DIR"), migrations):
        if directory and directory not in sys.path:
            sys.path.insert(0, directory)
    client = pymongo.MongoClient(os.environ["MIGO_URI"])
    try:
        client.admin.command("ping")
    except Exception as error:  # noqa: BLE001
        send({"type": "unavailable", "error": "Python could not connect with pymongo: %s" % error})
        sys.exit(3)
    send({"type": "ready", "runtime": "python %s, pymongo %s" % (platform.python_version(), pymongo.version)})
    while True:
        request = receive()
        if request is None:
            break
        send(run(client, request))
    # migo closed the channel: the run is over. Closing the client would wait for pymongo's
    # monitors; there is nothing left to flush but the output.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# migo runs: this file, check_pymongo(), legacy_pymongo.py, main().
