/* redis_conn.c: Redis URL parsing and connection set-up shared by the queue
 * and the events hub. */
#include "queue/redis_int.h"

#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Copies s[0..n) into dst, undoing %XX escapes (passwords often need them). */
static bool copy_decoded(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n) return false;
            int hi = hexval(s[i + 1]);
            int lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) return false;
            c = (char)(hi * 16 + lo);
            if (c == '\0') return false;
            i += 2;
        }
        if (o + 1 >= cap) return false;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return true;
}

static bool copy_plain(char *dst, size_t cap, const char *s, size_t n)
{
    if (n + 1 > cap) return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

/* Parses a decimal number in [lo, hi] from s[0..n). */
static bool parse_int(const char *s, size_t n, long lo, long hi, int *out)
{
    if (n == 0 || n > 10) return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

static cp_result bad_url(cp_error *err, const char *why)
{
    return cp_error_set(err, CP_EINVAL, "invalid_redis_url", "redis_url", "invalid Redis URL: %s", why);
}

cp_result cp_redis_parse_url(const char *url, cp_redis_addr *out, cp_error *err)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    if (!url) return bad_url(err, "empty");
    if (!strncmp(url, "unix://", 7)) {
        const char *p = url + 7;
        const char *q = strchr(p, '?');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || p[0] != '/') return bad_url(err, "unix:// needs an absolute socket path");
        if (!copy_plain(out->host, sizeof out->host, p, n)) return bad_url(err, "socket path too long");
        out->unix_socket = true;
        if (q) {
            if (strncmp(q, "?db=", 4) != 0 || !parse_int(q + 4, strlen(q + 4), 0, 1000000, &out->db))
                return bad_url(err, "only ?db=N is understood after a socket path");
        }
        return CP_OK;
    }
    if (!strncmp(url, "rediss://", 9)) return bad_url(err, "TLS (rediss://) is not supported");
    if (strncmp(url, "redis://", 8) != 0) return bad_url(err, "must start with redis:// or unix://");

    const char *auth = url + 8;
    const char *slash = strchr(auth, '/');
    const char *end = slash ? slash : auth + strlen(auth);
    /* The last '@' ends the credentials, so an unescaped '@' in a password still works. */
    const char *at = NULL;
    for (const char *p = auth; p < end; p++)
        if (*p == '@') at = p;
    const char *hostp = auth;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon) {
            if (!copy_decoded(out->user, sizeof out->user, auth, (size_t)(colon - auth)) ||
                !copy_decoded(out->pass, sizeof out->pass, colon + 1, (size_t)(at - colon - 1)))
                return bad_url(err, "bad user or password");
        } else if (!copy_decoded(out->user, sizeof out->user, auth, (size_t)(at - auth))) {
            return bad_url(err, "bad user");
        }
        hostp = at + 1;
    }
    const char *portp = NULL;
    const char *hend = end;
    if (*hostp == '[') {
        const char *rb = memchr(hostp, ']', (size_t)(end - hostp));
        if (!rb) return bad_url(err, "unclosed [ in host");
        if (!copy_plain(out->host, sizeof out->host, hostp + 1, (size_t)(rb - hostp - 1)))
            return bad_url(err, "host too long");
        if (rb + 1 < end) {
            if (rb[1] != ':') return bad_url(err, "junk after ]");
            portp = rb + 2;
        }
    } else {
        const char *colon = memchr(hostp, ':', (size_t)(end - hostp));
        if (colon) {
            hend = colon;
            portp = colon + 1;
        }
        if (!copy_plain(out->host, sizeof out->host, hostp, (size_t)(hend - hostp)))
            return bad_url(err, "host too long");
    }
    if (!out->host[0]) return bad_url(err, "missing host");
    if (portp && !parse_int(portp, (size_t)(end - portp), 1, 65535, &out->port)) return bad_url(err, "bad port");
    if (slash && slash[1] && !parse_int(slash + 1, strlen(slash + 1), 0, 1000000, &out->db))
        return bad_url(err, "path must be a database number");
    return CP_OK;
}

void cp_redis_describe(const cp_redis_addr *a, char *buf, size_t cap)
{
    if (a->unix_socket)
        snprintf(buf, cap, "%s", a->host);
    else if (strchr(a->host, ':'))
        snprintf(buf, cap, "[%s]:%d", a->host, a->port);
    else
        snprintf(buf, cap, "%s:%d", a->host, a->port);
}

bool cp_redis_is_err(const redisReply *r, const char *prefix)
{
    if (!r || r->type != REDIS_REPLY_ERROR || !r->str) return false;
    return strncmp(r->str, prefix, strlen(prefix)) == 0;
}

static struct timeval ms_tv(int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/* Runs a set-up command; false (err set) unless the reply is a status/OK. */
static bool setup_cmd(redisContext *c, const char *what, int argc, const char **argv, cp_error *err)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (!ok)
        cp_error_set(err, CP_ERR, "queue_unavailable", NULL, "redis %s failed: %s", what,
                     r ? r->str : (c->errstr[0] ? c->errstr : "no reply"));
    if (r) freeReplyObject(r);
    return ok;
}

redisContext *cp_redis_connect(const cp_redis_addr *a, int connect_timeout_ms, int io_timeout_ms, cp_error *err)
{
    char where[300];
    cp_redis_describe(a, where, sizeof where);
    struct timeval tv = ms_tv(connect_timeout_ms);
    redisContext *c =
        a->unix_socket ? redisConnectUnixWithTimeout(a->host, tv) : redisConnectWithTimeout(a->host, a->port, tv);
    if (!c) {
        cp_error_set(err, CP_ERR, "queue_unavailable", NULL, "redis %s: out of memory", where);
        return NULL;
    }
    if (c->err) {
        cp_error_set(err, CP_ERR, "queue_unavailable", NULL, "cannot connect to redis at %s: %s", where, c->errstr);
        goto fail;
    }
    if (redisSetTimeout(c, ms_tv(io_timeout_ms)) != REDIS_OK) {
        cp_error_set(err, CP_ERR, "queue_unavailable", NULL, "redis %s: cannot set socket timeout", where);
        goto fail;
    }
    if (!a->unix_socket) redisEnableKeepAlive(c);
    if (a->pass[0]) {
        const char *argv[3] = {"AUTH", a->user[0] ? a->user : a->pass, a->pass};
        if (!setup_cmd(c, "AUTH", a->user[0] ? 3 : 2, argv, err)) goto fail;
    }
    if (a->db) {
        char db[16];
        snprintf(db, sizeof db, "%d", a->db);
        const char *argv[2] = {"SELECT", db};
        if (!setup_cmd(c, "SELECT", 2, argv, err)) goto fail;
    }
    return c;
fail:
    redisFree(c);
    return NULL;
}
