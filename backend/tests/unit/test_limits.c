/* Unit tests for the abuse limits' parts: trusted proxies and client
 * addresses (http/clientaddr.c), the password hashing pool
 * (auth/hashpool.c) and the connection guard (http/connguard.c). */
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/hashpool.h"
#include "http/clientaddr.h"
#include "http/connguard.h"
#include "test.h"

static cp_proxies *proxies(const char *spec)
{
    cp_proxies *p = NULL;
    cp_error err;
    cp_error_clear(&err);
    CHECK_EQ(cp_proxies_parse(spec, &p, &err), CP_OK);
    return p;
}

static const char *client(const cp_proxies *p, const char *peer, const char *xff)
{
    static char out[CP_ADDR_MAX];
    cp_client_addr(p, peer, xff, out);
    return out;
}

TEST(proxies_parse_good)
{
    cp_proxies *p = proxies(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,::1 ");
    CHECK(cp_proxies_contains(p, "10.1.2.3"));
    CHECK(cp_proxies_contains(p, "192.168.1.7"));
    CHECK(!cp_proxies_contains(p, "192.168.1.8"));
    CHECK(cp_proxies_contains(p, "fd12:3456::1"));
    CHECK(cp_proxies_contains(p, "::1"));
    CHECK(!cp_proxies_contains(p, "fe80::1"));
    CHECK(!cp_proxies_contains(p, "11.0.0.1"));
    CHECK(!cp_proxies_contains(p, "not-an-ip"));
    /* A dual-stack socket shows IPv4 peers as IPv4-mapped IPv6: same address. */
    CHECK(cp_proxies_contains(p, "::ffff:10.1.2.3"));
    CHECK_STR(client(p, "::ffff:10.0.0.2", "198.51.100.1"), "198.51.100.1");
    /* An IPv4 CIDR never matches an IPv6 address that merely shares bits. */
    CHECK(!cp_proxies_contains(p, "a00::1"));
    cp_proxies_free(p);
    cp_proxies *none = proxies("");
    CHECK(none == NULL);
    CHECK(!cp_proxies_contains(none, "10.0.0.1"));
    cp_proxies *all = proxies("0.0.0.0/0");
    CHECK(cp_proxies_contains(all, "1.2.3.4"));
    CHECK(!cp_proxies_contains(all, "2001:db8::1"));
    cp_proxies_free(all);
}

TEST(proxies_parse_bad)
{
    static const char *const bad[] = {
        "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "fd00::/129",    "10.0.0.1/8", "example.com", "10.0.0.0/8x",  "/8",
        "10.0.0.0/-1", "1.2.3.4,x", "::1/64",   "10.0.0.0/08 9", "[::1]",      "1.2.3.4:80",  "10.0.0.0/8/8",
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(bad); i++) {
        cp_proxies *p = (cp_proxies *)1;
        cp_error err;
        cp_error_clear(&err);
        cp_result r = cp_proxies_parse(bad[i], &p, &err);
        if (r != CP_EINVAL || p != NULL) fprintf(stderr, "  accepted bad proxy spec '%s'\n", bad[i]);
        CHECK_EQ(r, CP_EINVAL);
        CHECK(p == NULL);
        /* The message names the entry, so the operator can fix it. */
        CHECK(strstr(err.message, "trusted proxy") != NULL);
    }
}

TEST(client_addr_selection)
{
    cp_proxies *p = proxies("10.0.0.0/8,fd00::/8");
    /* Untrusted peer: its X-Forwarded-For is ignored. */
    CHECK_STR(client(p, "203.0.113.5", "198.51.100.1"), "203.0.113.5");
    /* Trusted peer: the rightmost address that is not a proxy. */
    CHECK_STR(client(p, "10.0.0.2", "198.51.100.1"), "198.51.100.1");
    CHECK_STR(client(p, "10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.9"), "198.51.100.1");
    CHECK_STR(client(p, "10.0.0.2", "1.1.1.1,198.51.100.1"), "198.51.100.1");
    /* A spoofed leftmost entry never wins over what the proxy appended. */
    CHECK_STR(client(p, "10.0.0.2", "6.6.6.6, 198.51.100.1"), "198.51.100.1");
    /* Ports and brackets. */
    CHECK_STR(client(p, "10.0.0.2", "198.51.100.1:4711"), "198.51.100.1");
    CHECK_STR(client(p, "10.0.0.2", "[2001:db8::7]:443"), "2001:db8::7");
    CHECK_STR(client(p, "fd00::1", "2001:db8::7"), "2001:db8::7");
    /* Malformed entries stop the walk at the last good address. */
    CHECK_STR(client(p, "10.0.0.2", "garbage"), "10.0.0.2");
    CHECK_STR(client(p, "10.0.0.2", "198.51.100.1, garbage"), "10.0.0.2");
    CHECK_STR(client(p, "10.0.0.2", "garbage, 198.51.100.1"), "198.51.100.1");
    CHECK_STR(client(p, "10.0.0.2", "garbage, 10.0.0.3"), "10.0.0.3");
    CHECK_STR(client(p, "10.0.0.2", ""), "10.0.0.2");
    CHECK_STR(client(p, "10.0.0.2", ",,,"), "10.0.0.2");
    CHECK_STR(client(p, "10.0.0.2", "[2001:db8::7"), "10.0.0.2");
    CHECK_STR(client(p, "10.0.0.2", "1.2.3.4 5.6.7.8"), "10.0.0.2");
    char longv[300];
    memset(longv, '1', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    CHECK_STR(client(p, "10.0.0.2", longv), "10.0.0.2");
    /* Only proxies all the way: the leftmost is the client. */
    CHECK_STR(client(p, "10.0.0.2", "10.0.0.5, 10.0.0.4"), "10.0.0.5");
    CHECK_STR(client(p, "10.0.0.2", NULL), "10.0.0.2");
    /* No proxies configured: always the peer. */
    CHECK_STR(client(NULL, "10.0.0.2", "198.51.100.1"), "10.0.0.2");
    cp_proxies_free(p);
}

TEST(client_key_ipv6_by_64)
{
    char k1[CP_ADDR_MAX], k2[CP_ADDR_MAX], k3[CP_ADDR_MAX];
    cp_client_key("2001:db8:1:2:aaaa::1", k1);
    cp_client_key("2001:db8:1:2:bbbb:cccc:dddd:eeee", k2);
    cp_client_key("2001:db8:1:3::1", k3);
    CHECK_STR(k1, "2001:db8:1:2::/64");
    CHECK_STR(k1, k2);
    CHECK(strcmp(k1, k3) != 0);
    cp_client_key("192.0.2.1", k1);
    CHECK_STR(k1, "192.0.2.1");
    cp_client_key("::ffff:192.0.2.1", k1);
    CHECK_STR(k1, "192.0.2.1");
    cp_client_key("junk", k1);
    CHECK_STR(k1, "junk");
}

typedef struct {
    pthread_mutex_t mu;
    int done;
} counter;

static void count_done(cp_hashjob *job, void *cls)
{
    CP_UNUSED(job);
    counter *c = cls;
    pthread_mutex_lock(&c->mu);
    c->done++;
    pthread_mutex_unlock(&c->mu);
}

TEST(hashpool_runs_and_bounds)
{
    cp_hashpool *p = cp_hashpool_new(1, 2);
    CHECK(p != NULL);
    if (!p) return;
    counter c = {PTHREAD_MUTEX_INITIALIZER, 0};
    cp_hashjob jobs[6];
    memset(jobs, 0, sizeof jobs);
    int accepted = 0;
    for (int i = 0; i < 6; i++) {
        jobs[i].kind = CP_HASHJOB_HASH;
        jobs[i].password = "correct horse battery";
        jobs[i].done = count_done;
        jobs[i].cls = &c;
        accepted += cp_hashpool_submit(p, &jobs[i]);
    }
    /* One running and two waiting at most; the rest refused at once. */
    CHECK(accepted >= 2 && accepted <= 3);
    CHECK(cp_hashpool_retry_after(p) >= 1);
    cp_hashpool_free(p); /* drains the queue */
    CHECK_EQ(c.done, accepted);
    CHECK_EQ(jobs[0].result, CP_OK);
    CHECK(cp_password_verify(jobs[0].out, "correct horse battery"));

    p = cp_hashpool_new(2, 4);
    cp_hashjob v = {.kind = CP_HASHJOB_VERIFY,
                    .hash = jobs[0].out,
                    .password = "correct horse battery",
                    .done = count_done,
                    .cls = &c};
    cp_hashjob w = {.kind = CP_HASHJOB_VERIFY, .hash = jobs[0].out, .password = "wrong", .done = count_done, .cls = &c};
    cp_hashjob d = {.kind = CP_HASHJOB_DUMMY, .password = "x", .ok = true, .done = count_done, .cls = &c};
    CHECK(cp_hashpool_submit(p, &v));
    CHECK(cp_hashpool_submit(p, &w));
    CHECK(cp_hashpool_submit(p, &d));
    cp_hashpool_free(p);
    CHECK(v.ok);
    CHECK(!w.ok);
    CHECK(!d.ok);
    CHECK_EQ(c.done, accepted + 3);
}

TEST(connguard_limit_and_deadline)
{
    cp_connguard *g = cp_connguard_new(2, 1);
    CHECK(g != NULL);
    if (!g) return;
    int sv[2], sv2[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2), 0);
    CHECK(cp_connguard_admit(g, "1.2.3.4", false));
    cp_guarded *a = cp_connguard_open(g, "1.2.3.4", false, sv[0]);
    cp_guarded *b = cp_connguard_open(g, "1.2.3.4", false, sv2[0]);
    CHECK(!cp_connguard_admit(g, "1.2.3.4", false));
    CHECK(cp_connguard_admit(g, "1.2.3.4", true)); /* a trusted proxy */
    CHECK(cp_connguard_admit(g, "5.6.7.8", false));
    /* b finished reading its request; a is still reading past its deadline. */
    cp_connguard_disarm(g, b);
    usleep(1500 * 1000);
    char ch;
    CHECK_EQ(read(sv[1], &ch, 1), 0);              /* a's socket was shut down */
    CHECK_EQ(send(sv2[1], "x", 1, 0), (ssize_t)1); /* b's is intact */
    CHECK_EQ(read(sv2[0], &ch, 1), (ssize_t)1);
    cp_connguard_close(g, a);
    CHECK(cp_connguard_admit(g, "1.2.3.4", false));
    cp_connguard_close(g, b);
    cp_connguard_free(g);
    close(sv[0]);
    close(sv[1]);
    close(sv2[0]);
    close(sv2[1]);
}

int main(void)
{
    RUN(proxies_parse_good);
    RUN(proxies_parse_bad);
    RUN(client_addr_selection);
    RUN(client_key_ipv6_by_64);
    RUN(hashpool_runs_and_bounds);
    RUN(connguard_limit_and_deadline);
    TEST_END();
}
