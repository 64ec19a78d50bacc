"""A bench user, signed up the one way there is: POST /auth/signup, the link
from the mail outbox (the server's CLOUDPLANE_MAIL_OUTBOX, which the bench
scripts set), then POST /auth/signup/complete. Imported by their Python."""
import json
import os
import re
import time


def signup(session, url, email="bench@example.com", password="bench-password", name="Bench", outbox=None):
    """The access token of a new user."""
    outbox = outbox or os.environ["CLOUDPLANE_MAIL_OUTBOX"]
    r = session.post(url + "/api/v1/auth/signup", json={"email": email})
    assert r.status_code == 202, r.text
    token = None
    for _ in range(100):
        for f in sorted(os.listdir(outbox), reverse=True) if os.path.isdir(outbox) else []:
            with open(os.path.join(outbox, f)) as fh:
                m = json.load(fh) if f.endswith(".json") else {}
            if m.get("to") == email and m.get("kind") == "signup" and m.get("link"):
                token = re.search(r"#token=([A-Za-z0-9_-]+)", m["link"]).group(1)
                break
        if token:
            break
        time.sleep(0.05)
    assert token, "no sign-up mail to %s in %s" % (email, outbox)
    r = session.post(url + "/api/v1/auth/signup/complete", json={"token": token, "password": password, "name": name})
    assert r.status_code == 201, r.text
    return r.json()["access_token"]
