"""bench/api.sh and bench/api_cost.sh: 1,000 sandbox storage resources in one project
whose USERS users (the owner, then viewers invited by mail) all see them; prints
one access token a line, the owner first.
   python3 bench/api_populate.py URL USERS"""
import sys, requests
from signup import signup
url, users = sys.argv[1], int(sys.argv[2])
s = requests.Session()
tok = signup(s, url)
s.headers["Authorization"] = "Bearer " + tok
p = s.post(url + "/api/v1/projects", json={"name": "bench"}).json()
a = s.post(url + "/api/v1/projects/%s/accounts" % p["id"], json={"name": "sb", "cloud": "sandbox"}).json()
for i in range(1000):
    r = s.post(url + "/api/v1/resources", json={"project_id": p["id"], "account_id": a["id"], "kind": "storage",
                                                "name": "bucket-%04d" % i, "region": "sandbox-east-1",
                                                "config": {"expected_gb": 10}})
    assert r.status_code == 202, r.text
print(tok)
import os, re, json, time
for u in range(1, users):
    email = "reader%d@example.com" % u
    r = s.post(url + "/api/v1/projects/%s/invitations" % p["id"], json={"email": email, "role": "viewer"})
    assert r.status_code == 202, r.text
    o = requests.Session()
    t = signup(o, url, email=email)
    o.headers["Authorization"] = "Bearer " + t
    link = None
    for _ in range(100):
        for f in sorted(os.listdir(os.environ["CLOUDPLANE_MAIL_OUTBOX"]), reverse=True):
            m = json.load(open(os.path.join(os.environ["CLOUDPLANE_MAIL_OUTBOX"], f))) if f.endswith(".json") else {}
            if m.get("to") == email and m.get("kind") == "invitation" and m.get("link"):
                link = re.search(r"#token=([A-Za-z0-9_-]+)", m["link"]).group(1)
                break
        if link:
            break
        time.sleep(0.05)
    assert link, "no invitation mail to " + email
    r = o.post(url + "/api/v1/invitations/accept", json={"token": link})
    assert r.status_code == 200, r.text
    print(t)
