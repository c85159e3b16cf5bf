# migo's Python session: migopy's migrations (modules defining up(db) and down(db), given a
# pymongo Database) run unchanged. Reads one JSON request per line on stdin ({path, direction,
# database, name}); answers with one result line. The connection string comes from the
# environment (MIGO_URI), never from argv.
import importlib.util
import json
import os
import sys

import pymongo

client = pymongo.MongoClient(os.environ["MIGO_URI"])
for line in sys.stdin:
    request = json.loads(line)
    try:
        spec = importlib.util.spec_from_file_location("migo_" + request["name"], request["path"])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        step = getattr(module, request["direction"], None)
        if not callable(step):
            raise AttributeError("%s defines no %s(db) function" % (request["name"], request["direction"]))
        step(client[request["database"]])
        result = {"ok": True}
    except BaseException as error:  # a migration's failure is its own: report it, go on
        message = "%s: %s" % (type(error).__name__, error)
        sys.stderr.write(message + "\n")
        result = {"ok": False, "error": message}
    sys.stderr.flush()
    sys.stdout.flush()
    sys.stdout.write("\x1emigo-result " + json.dumps(result) + "\n")
    sys.stdout.flush()
