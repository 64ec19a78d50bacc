"""Idle event streams at scale, against a running `cloudplane serve` whose
runs do not move (CLOUDPLANE_WORKERS=0 in embedded mode; distributed serve
runs no workers): signs up, orders one sandbox VM (its run stays queued),
opens N SSE streams on that run, then
  - idle: statements/s over WINDOW seconds (cloudplane_db_statements_total),
  - rss: the server's VmRSS with every stream open,
  - fanout: cancels the run (one new status event) and times until every
    stream has received it (the client's own clock; the client shares the
    machine, so its reading time is included).
Prints one JSON object. Run by bench/streams.sh, which sets the server up:
  python3 bench/streams.py URL SERVER_PID --streams 10000 --window 20"""
import argparse
import asyncio
import json
import re
import time
import urllib.request

from signup import signup

import requests


def metric(url, name):
    text = urllib.request.urlopen(url + "/metrics", timeout=30).read().decode()
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1))


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def cpu_ms(pid):
    """CPU time of every thread of pid so far (ns counters in schedstat): unlike
    wall time, it does not grow with other load on the machine."""
    import os
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # the thread ended
    return total / 1e6


class StreamProto(asyncio.Protocol):
    """One SSE connection: counts bytes, notes when the marker first shows."""

    marker = b'"run_status":"canceled"'

    def __init__(self, request, opened, done):
        self.request, self.opened, self.done = request, opened, done
        self.buf = b""
        self.status = None
        self.got_at = None
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        if self.got_at is not None:
            return
        self.buf += data
        if self.status is None and b"\r\n" in self.buf:
            self.status = int(self.buf.split(b" ", 2)[1])
            self.opened(self)
        if self.marker in self.buf:
            self.got_at = time.monotonic()
            self.buf = b""
            self.done(self)
        elif len(self.buf) > 65536:
            self.buf = self.buf[-4096:]

    def connection_lost(self, exc):
        self.closed = True
        if self.status is None:
            self.status = 0
            self.opened(self)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("pid", type=int)
    ap.add_argument("--streams", type=int, default=10000)
    ap.add_argument("--window", type=float, default=20.0)
    ap.add_argument("--open-concurrency", type=int, default=200)
    a = ap.parse_args()
    host, port = a.url.split("//", 1)[1].split(":")
    port = int(port)

    s = requests.Session()
    token = signup(s, a.url, email="streams@example.com")
    s.headers["Authorization"] = "Bearer " + token
    p = s.post(a.url + "/api/v1/projects", json={"name": "streams"}).json()
    acct = s.post(a.url + "/api/v1/projects/%s/accounts" % p["id"], json={"name": "sb", "cloud": "sandbox"}).json()
    r = s.post(a.url + "/api/v1/resources", json={
        "project_id": p["id"], "account_id": acct["id"], "kind": "storage", "name": "idle-bucket",
        "region": "sandbox-east-1", "config": {"expected_gb": 10}})
    assert r.status_code == 202, r.text
    run_id = r.json()["run"]["id"]
    assert r.json()["run"]["status"] == "queued"

    request = ("GET /api/v1/runs/%s/events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n"
               "Authorization: Bearer %s\r\n\r\n" % (run_id, host, token)).encode()
    loop = asyncio.get_running_loop()
    opened, received = [], []
    all_open = asyncio.Event()
    all_done = asyncio.Event()

    def on_open(proto):
        opened.append(proto)
        if len(opened) == a.streams:
            all_open.set()

    def on_done(proto):
        received.append(proto.got_at)
        if len(received) == a.streams:
            all_done.set()

    sem = asyncio.Semaphore(a.open_concurrency)
    protos = []

    async def open_one():
        async with sem:
            proto = StreamProto(request, on_open, on_done)
            protos.append(proto)
            await loop.create_connection(lambda: proto, host, port)
            while proto.status is None:  # keeps at most open_concurrency opening at once
                await asyncio.sleep(0.005)

    t = time.monotonic()
    await asyncio.gather(*(open_one() for _ in range(a.streams)))
    await asyncio.wait_for(all_open.wait(), 600)
    open_s = time.monotonic() - t
    bad = [x.status for x in protos if x.status != 200]
    assert not bad, "streams refused: %s" % sorted(set(bad))

    # Let the opening reads finish (statement count stops moving), then the idle window.
    last = metric(a.url, "cloudplane_db_statements_total")
    for _ in range(120):
        await asyncio.sleep(1)
        now = metric(a.url, "cloudplane_db_statements_total")
        if now == last:
            break
        last = now
    before = metric(a.url, "cloudplane_db_statements_total")
    await asyncio.sleep(a.window)
    after = metric(a.url, "cloudplane_db_statements_total")
    rss = rss_mb(a.pid)
    still_open = sum(1 for x in protos if not x.closed)

    # One new event: the cancel writes the run's status event and wakes every stream.
    server_cpu0, client_cpu0 = cpu_ms(a.pid), time.process_time()
    t0 = time.monotonic()
    cancel = await loop.run_in_executor(None, lambda: s.post(a.url + "/api/v1/runs/%s/cancel" % run_id))
    assert cancel.status_code == 202, cancel.text
    try:
        await asyncio.wait_for(all_done.wait(), 60)
    except asyncio.TimeoutError:
        pass
    fan = sorted(x - t0 for x in received)
    server_cpu, client_cpu = cpu_ms(a.pid) - server_cpu0, (time.process_time() - client_cpu0) * 1000
    stmts_fanout = metric(a.url, "cloudplane_db_statements_total") - after
    for x in protos:
        x.transport.close()
    print(json.dumps({
        "streams": a.streams, "open_s": round(open_s, 2), "still_open_after_idle": still_open,
        "idle_window_s": a.window, "idle_statements": after - before,
        "idle_statements_per_s": round((after - before) / a.window, 3),
        "rss_mb": round(rss, 1), "received": len(fan),
        "fanout_p50_s": round(fan[len(fan) // 2], 3) if fan else None,
        "fanout_max_s": round(fan[-1], 3) if fan else None,
        "fanout_statements": stmts_fanout,
        # CPU spent until every stream had the event (the client's includes
        # its wait loop's wake-ups, the server's the cancel request).
        "fanout_server_cpu_ms": round(server_cpu, 1), "fanout_client_cpu_ms": round(client_cpu, 1),
    }))


if __name__ == "__main__":
    asyncio.run(main())
