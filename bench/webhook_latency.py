"""Webhook delivery latency: from the commit of an event (a test ping's
delivery row, whose created_at the API returns) to its receipt, signature
checked, at a local receiver. N pings, one every GAP seconds, each its own
event; prints one JSON object {n, p50_ms, p95_ms, max_ms}. Used by
bench/webhook_latency.sh."""
import datetime
import hashlib
import hmac
import json
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from signup import signup

SECRET = "bench-webhook-secret-0123456789"


def main(url, n, gap, email):
    got = {}
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            t = time.time()
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ts = self.headers["X-Cloudplane-Timestamp"]
            want = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(want, self.headers["X-Cloudplane-Signature"])
            with lock:
                got[self.headers["X-Cloudplane-Delivery"]] = t
            self.send_response(204)
            self.end_headers()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + signup(s, url, email=email)
    p = s.post(url + "/api/v1/projects", json={"name": "bench-hooks"}).json()
    w = s.post(url + "/api/v1/projects/%s/webhooks" % p["id"],
               json={"url": "http://127.0.0.1:%d/h" % srv.server_address[1], "events": ["run.failed"],
                     "secret": SECRET}).json()
    sent = {}
    for _ in range(n):
        d = s.post(url + "/api/v1/webhooks/%s/test" % w["id"]).json()
        sent[d["id"]] = datetime.datetime.strptime(d["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        time.sleep(gap)
    deadline = time.time() + 30
    while time.time() < deadline and len(got) < n:
        time.sleep(0.05)
    lat = sorted((got[i] - sent[i]) * 1000 for i in sent if i in got)
    srv.shutdown()
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else lat * 99
    print(json.dumps({"n": len(lat), "of": n, "p50_ms": round(q[49], 1), "p95_ms": round(q[94], 1),
                      "max_ms": round(max(lat), 1)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
