"""Bad input gets a JSON error and the server keeps serving."""
import socket

from conftest import Api, assert_error

SIGNUP = "/api/v1/auth/signup"
COMPLETE = "/api/v1/auth/signup/complete"
TOKEN = "cps_" + "A" * 43


def alive(server):
    assert server.get("/healthz").status_code == 200


def test_malformed_json(server):
    for body in [b"{", b"{\"email\":}", b"not json", b"\xff\xfe", b"[1,2", b"{\"a\":1}{"]:
        r = server.req("POST", SIGNUP, data=body, headers={"Content-Type": "application/json"})
        assert_error(r, 400, "malformed_json")
    alive(server)


def test_empty_body_and_non_object(server):
    r = server.req("POST", SIGNUP, data=b"", headers={"Content-Type": "application/json"})
    assert_error(r, 400)
    r = server.req("POST", SIGNUP, data=b"[]", headers={"Content-Type": "application/json"})
    assert_error(r, 400)
    r = server.req("POST", SIGNUP, data=b"null", headers={"Content-Type": "application/json"})
    assert_error(r, 400)


def test_unknown_fields(server):
    r = server.post(SIGNUP, {"email": "a@x.io", "admin": True})
    assert_error(r, 400, "unknown_field", "admin")
    assert server.mails() == []  # refused before anything was sent
    r = server.post(COMPLETE, {"token": TOKEN, "password": "0123456789", "name": "A", "admin": True})
    assert_error(r, 400, "unknown_field", "admin")
    assert server.post(SIGNUP, {"email": "a@x.io"}).status_code == 202


def test_duplicate_keys(server):
    r = server.req("POST", SIGNUP, data=b'{"email":"a@x.io","email":"b@x.io"}',
                   headers={"Content-Type": "application/json"})
    assert_error(r, 400, "malformed_json")


def test_wrong_types(server):
    assert_error(server.post(SIGNUP, {"email": 5}), 422, field="email")
    for body, field in [({"token": 5, "password": "0123456789", "name": "A"}, "token"),
                        ({"token": TOKEN, "password": ["x"], "name": "A"}, "password"),
                        ({"token": TOKEN, "password": "0123456789", "name": None}, "name"),
                        ({"token": TOKEN, "password": "0123456789", "name": {"x": 1}}, "name")]:
        assert_error(server.post(COMPLETE, body), 422, field=field)


def test_huge_strings(server):
    r = server.post(SIGNUP, {"email": "a" * 5000 + "@x.io"})
    assert_error(r, 422, "too_long", "email")
    r = server.post(COMPLETE, {"token": "t" * 1024, "password": "0123456789", "name": "A"})
    assert_error(r, 422, "too_long", "token")
    r = server.post(COMPLETE, {"token": TOKEN, "password": "0123456789", "name": "N" * 101})
    assert_error(r, 422, "too_long", "name")


def test_body_over_limit(server):
    big = b'{"email":"' + b"a" * (1024 * 1024 + 10) + b'"}'
    r = server.req("POST", SIGNUP, data=big, headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")
    alive(server)


def test_body_over_limit_chunked(server):
    def gen():
        for _ in range(300):
            yield b"x" * 8192
    r = server.req("POST", SIGNUP, data=gen(), headers={"Content-Type": "application/json"})
    assert_error(r, 413)
    alive(server)


def test_body_limit_is_configurable(make_server):
    s = make_server(env={"CLOUDPLANE_MAX_BODY_BYTES": "2048"})
    body = {"email": "a" * 3000 + "@x.io"}
    assert_error(s.post(SIGNUP, body), 413)


def test_wrong_content_type(server):
    r = server.req("POST", SIGNUP, data=b'{"email":"a@x.io"}', headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type")
    r = server.req("POST", SIGNUP, data=b"email=a@x.io", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 415)
    r = server.req("POST", SIGNUP, data=b'{}', headers={"Content-Type": "application/jsonp"})
    assert_error(r, 415)
    r = server.req("POST", SIGNUP, data=b'{"email":"a@x.io"}',
                   headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 202


def test_unknown_route(server):
    assert_error(server.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(server.post("/api/v1/auth/signup/extra", {}), 404, "not_found")
    assert_error(server.get("/api"), 404)


def test_wrong_method(server):
    r = server.req("DELETE", SIGNUP)
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "POST"
    r = server.req("PUT", "/api/v1/auth/me")
    assert_error(r, 405)
    assert r.headers["Allow"] == "GET"
    r = server.req("POST", "/index.html")
    assert_error(r, 405)


def test_garbage_on_the_socket(server):
    host, port = server.url.replace("http://", "").split(":")
    for payload in [b"\x00\x01\x02garbage\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                    b"POST /api/v1/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
                    b"G" * 100000]:
        s = socket.create_connection((host, int(port)), timeout=5)
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            s.recv(4096)
        except OSError:
            pass
        finally:
            s.close()
    alive(server)


def test_error_naming_a_long_non_ascii_key_keeps_its_body(server):
    """The message quotes at most 40 bytes of an unknown key: a cut through a
    multi-byte character must not lose the JSON error body (it answered {})."""
    api = Api(server)
    pid = api.project()["id"]
    key = "O" + "\u00e9" * 30  # 61 bytes: the 40-byte cut lands inside an é
    r = api.call("POST", "/projects/%s/accounts" % pid, {"name": "a", "cloud": "aws", "credentials": {key: "x"}})
    assert_error(r, 400, "unknown_field")
    assert r.json()["error"]["message"].startswith("aws credentials take no field 'O\u00e9")
    r = server.post(SIGNUP, {"email": "a@x.io", "password": "0123456789", "name": "A", "\u00e9" * 40: 1})
    assert_error(r, 400, "unknown_field")
    alive(server)


def test_lengths_count_characters(server):
    """maxLength in the spec counts characters; so does the server (it counted bytes)."""
    api = Api(server)
    assert api.call("POST", "/projects", {"name": "\u00e9" * 100}).status_code == 201
    assert_error(api.call("POST", "/projects", {"name": "\u00e9" * 101}), 422, "too_long", "name")


def test_cost_summary_group_by_is_one_of_the_enum(server):
    api = Api(server)
    assert api.call("GET", "/costs/summary").json()["group_by"] == "cloud"
    assert_error(api.call("GET", "/costs/summary?group_by="), 422, "invalid_value", "group_by")
    assert_error(api.call("GET", "/costs/summary?group_by=zone"), 422, "invalid_value", "group_by")


def test_credential_lengths_count_characters(server):
    api = Api(server)
    pid = api.project()["id"]

    def aws(secret):
        return api.call("POST", "/projects/%s/accounts" % pid, {"name": "a", "cloud": "aws", "credentials": {
            "access_key_id": "AKIAEXAMPLE12345", "secret_access_key": secret}})
    # 8 two-byte characters are 16 bytes but 8 characters: under the minimum of 16.
    assert_error(aws("\u00e9" * 8), 422, "invalid_length", "credentials.secret_access_key")
    assert aws("\u00e9" * 16).status_code == 201


def test_nul_byte_in_a_query_parameter(server):
    """A query value holding a NUL byte keeps its full length (handlers read C
    strings, which would see only the part before it): a filter too long with
    it is refused, a short one is a valid filter that matches nothing."""
    token = server.signup()["access_token"]
    assert server.get("/api/v1/resources?cloud=aws", token).status_code == 200
    for query in ["cloud=" + "x" * 64 + "%00", "cloud=aws%00" + "x" * 62]:
        assert_error(server.get("/api/v1/resources?" + query, token), 422, "invalid_value", "cloud")
    for query in ["cloud=a%00b", "cloud=%00", "kind%00x=vm"]:
        r = server.get("/api/v1/resources?" + query, token)
        assert r.status_code == 200, (query, r.text)
        assert r.json()["items"] == []
    # a name with a NUL is not the name before it: "limit%00x" is no limit
    assert server.get("/api/v1/resources?limit%00x=0", token).status_code == 200
    alive(server)


def test_nul_byte_in_the_path(server):
    """A path holding a NUL byte is not the path before it: the project's URL
    with "%00x" after the id names no project, and a route with a NUL after
    it is no route."""
    token = server.signup()["access_token"]
    r = server.post("/api/v1/projects", {"name": "nul-path"}, token)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert server.get("/api/v1/projects/" + pid, token).status_code == 200
    for path in ["/api/v1/projects/%s%%00x" % pid, "/api/v1/projects/%s%%00" % pid]:
        r = server.get(path, token)
        assert r.status_code in (404, 422), (path, r.status_code, r.text)
        assert "error" in r.json()
    assert_error(server.get("/api/v1/catalog%00", token), 404, "not_found")
    alive(server)
