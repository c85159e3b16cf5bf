"""The benchmarks' server: a SecantusDB from the project's venv, freshly started in memory on a
free port, stopped (by its own process handle) when the benchmark ends."""
import contextlib
import os
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, ".tools", "venv", "bin", "secantusd-py")


@contextlib.contextmanager
def fresh_server():
    """Yields the server's URI, once it accepts connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([SERVER, "--host", "127.0.0.1", "--port", str(port), "--storage-path",
                               ":memory:", "--log-level", "WARNING"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the benchmark server did not start")
                time.sleep(0.2)
        yield f"mongodb://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait()
