"""Fleet benchmark: `migo --fleet` on many tenant databases of one freshly started SecantusDB.

1. Through a latency proxy (5 ms each way, as a hosted cluster seen from CI): `execute --fleet`
   on N tenants with 3 pending one-insert migrations each, `--jobs 1` against `--jobs 8`.
2. `list --fleet` through the proxy on N and on 10×N tenants: the proxy counts the requests the
   client sends (wire messages), so round trips per member are measured, not assumed; peak RSS.
3. Without the proxy: the obvious alternative, a shell loop of `migo --database tenant_i
   execute`, against one `migo --fleet execute --jobs 8`.

Run: bash scripts/bench-fleet   (BENCH_TENANTS=100 by default; CI runs 10; BENCH_URI=mongodb://…
points it at a scratch MongoDB instead of a fresh SecantusDB: it drops that server's `tenant_`
databases)
"""
import asyncio
import contextlib
import os
import shutil
import struct
import sys
import tempfile
import threading
import time

from pymongo import MongoClient

from measure import measure
from server import ROOT, fresh_server

PROFILE = os.environ.get("BENCH_PROFILE", "release")
MIGO = os.path.join(ROOT, "target", PROFILE if PROFILE == "release" else "debug", "migo")
N = int(os.environ.get("BENCH_TENANTS", "100"))
DELAY = float(os.environ.get("BENCH_DELAY_MS", "5")) / 1000


class LatencyProxy:
    """A TCP proxy on its own thread that delays every chunk by DELAY in each direction (order
    kept) and counts the wire messages the client sends."""

    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, upstream_port)
        self.requests = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        ready.wait()

    def _serve(self, ready):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _connection(self, client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        await asyncio.gather(self._pipe(client_reader, server_writer, count=True),
                             self._pipe(server_reader, client_writer, count=False),
                             return_exceptions=True)

    async def _pipe(self, reader, writer, count):
        queue = asyncio.Queue()
        buffered = bytearray()

        async def deliver():
            while True:
                due, chunk = await queue.get()
                if chunk is None:
                    writer.close()
                    return
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                chunk = await reader.read(1 << 16)
                if not chunk:
                    break
                if count:
                    buffered.extend(chunk)
                    while len(buffered) >= 4:
                        length = struct.unpack_from("<i", buffered)[0]
                        if len(buffered) < length:
                            break
                        del buffered[:length]
                        self.requests += 1
                queue.put_nowait((time.monotonic() + DELAY, chunk))
        finally:
            queue.put_nowait((0, None))
            await sender

    def take_count(self):
        count, self.requests = self.requests, 0
        return count


def project(uri):
    """A project whose fleet is every `tenant_` database, with 3 one-insert migrations."""
    work = tempfile.mkdtemp(prefix="migo-bench-fleet-")
    with open(os.path.join(work, "migo.toml"), "w") as f:
        f.write(f'[mongo]\nuri = "{uri}"\ndatabase = "app"\n\n[fleet]\ndatabases = "^tenant_"\n')
    os.mkdir(os.path.join(work, "mongomigrations"))
    for n in (1, 2, 3):
        with open(os.path.join(work, "mongomigrations", f"000{n}_m.json"), "w") as f:
            f.write(f'{{"up": [{{"insert": "items", "documents": [{{"_id": {n}}}]}}],'
                    f' "down": [{{"delete": "items", "deletes": [{{"q": {{"_id": {n}}}, "limit": 1}}]}}]}}')
    return work


def tenants(client, count):
    """Exactly `count` tenant databases, each with a seed document and nothing applied."""
    for name in client.list_database_names():
        if name.startswith("tenant_"):
            client.drop_database(name)
    for i in range(count):
        client[f"tenant_{i:04d}"]["seed"].insert_one({"_id": 0})


def check_applied(client, count):
    applied = sum(client[f"tenant_{i:04d}"]["items"].count_documents({}) for i in range(count))
    if applied != 3 * count:
        sys.exit(f"expected {3 * count} applied migrations, found {applied}")


@contextlib.contextmanager
def server():
    """BENCH_URI (a scratch MongoDB whose `tenant_` databases the benchmark drops and makes;
    `mongodb://host:port` of a single server), else a fresh SecantusDB."""
    if os.environ.get("BENCH_URI"):
        yield os.environ["BENCH_URI"].rstrip("/")
    else:
        with fresh_server() as uri:
            yield uri


def main():
    if not os.path.exists(MIGO):
        sys.exit(f"{MIGO} is missing")
    rows = []
    with server() as uri:
        client = MongoClient(uri)
        host, port = uri.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
        proxy = LatencyProxy(host, int(port))
        # directConnection: the server names itself in `hello`; the driver would go round the proxy.
        slow = f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"
        work = project(slow)
        times = {}
        for jobs in (1, 4, 8):
            tenants(client, N)
            times[jobs], rss = measure([MIGO, "--fleet", "execute", "--jobs", str(jobs)], work)
            check_applied(client, N)
            rows.append((f"`execute --fleet --jobs {jobs}`, {N} tenants, through the proxy",
                         f"{times[jobs]:.2f}", f"{rss:.1f}", ""))
        rows.append(("speed-up of `--jobs 8` over `--jobs 1`", f"{times[1] / times[8]:.1f}×", "", ""))
        for count in (N, 10 * N):
            tenants(client, count)
            proxy.take_count()
            elapsed, rss = measure([MIGO, "--fleet", "list", "--jobs", "8"], work)
            requests = proxy.take_count()
            rows.append((f"`list --fleet`, {count} tenants, through the proxy", f"{elapsed:.2f}",
                         f"{rss:.1f}", f"{requests / count:.2f}"))
        shutil.rmtree(work)
        direct = project(uri)
        tenants(client, N)
        started = time.perf_counter()
        for i in range(N):
            measure([MIGO, "--database", f"tenant_{i:04d}", "execute"], direct)
        loop = time.perf_counter() - started
        check_applied(client, N)
        rows.append((f"shell loop of `migo --database tenant_i execute`, {N} tenants, no proxy",
                     f"{loop:.2f}", "", ""))
        for jobs in (1, 8):
            tenants(client, N)
            elapsed, rss = measure([MIGO, "--fleet", "execute", "--jobs", str(jobs)], direct)
            check_applied(client, N)
            rows.append((f"`execute --fleet --jobs {jobs}`, {N} tenants, no proxy", f"{elapsed:.2f}",
                         f"{rss:.1f}", ""))
        shutil.rmtree(direct)
    print(f"Fleets: 3 pending one-insert migrations per tenant database, SecantusDB 0.7.0b3 in "
          f"memory, migo {PROFILE} build, one run each")
    print()
    print("| run | seconds | peak RSS (MB) | requests per member |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
