/* The webhook sender's pure parts: the address policy (http/outbound.c),
 * table-driven over IPv4 and IPv6 and the IPv6 forms that carry an IPv4
 * address, with and without an allow-list; the URL form check; the retry
 * backoff and the signature (worker/webhooks.c) against a known vector. */
#include <arpa/inet.h>
#include <string.h>

#include "http/outbound.h"
#include "test.h"
#include "worker/webhooks.h"

/* The class of a text address through a real sockaddr. */
static const char *class_of(const char *text, bool *ok)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    *ok = true;
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1)
        in->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1)
        in6->sin6_family = AF_INET6;
    else
        *ok = false;
    return cp_outbound_refused_class((struct sockaddr *)&ss);
}

static bool allowed(const char *text, const cp_proxies *allow)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1)
        in->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1)
        in6->sin6_family = AF_INET6;
    return cp_outbound_allowed((struct sockaddr *)&ss, allow);
}

TEST(address_classes)
{
    static const struct {
        const char *addr, *want; /* want NULL: public */
    } cases[] = {
        {"8.8.8.8", NULL},
        {"93.184.216.34", NULL},
        {"1.1.1.1", NULL},
        {"127.0.0.1", "loopback"},
        {"127.255.255.254", "loopback"},
        {"0.0.0.0", "unspecified"},
        {"0.1.2.3", "unspecified"},
        {"10.0.0.1", "private"},
        {"10.255.255.255", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"172.15.255.255", NULL},
        {"172.32.0.0", NULL},
        {"192.168.1.1", "private"},
        {"100.64.0.1", "cgnat"},
        {"100.127.255.255", "cgnat"},
        {"100.128.0.0", NULL},
        {"169.254.169.254", "link-local"}, /* cloud metadata */
        {"192.0.0.8", "reserved"},
        {"192.0.2.1", "documentation"},
        {"198.51.100.7", "documentation"},
        {"203.0.113.9", "documentation"},
        {"198.18.0.1", "reserved"},
        {"198.19.255.255", "reserved"},
        {"198.20.0.0", NULL},
        {"224.0.0.1", "multicast"},
        {"239.255.255.250", "multicast"},
        {"240.0.0.1", "reserved"},
        {"255.255.255.255", "reserved"},
        {"::", "unspecified"},
        {"::1", "loopback"},
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:10.1.2.3", "private"},
        {"::ffff:169.254.169.254", "link-local"},
        {"::ffff:8.8.8.8", NULL},
        {"::127.0.0.1", "reserved"}, /* IPv4-compatible */
        {"64:ff9b::a9fe:a9fe", "link-local"},
        {"64:ff9b::808:808", NULL},
        {"64:ff9b:1::1", "reserved"},
        {"2002:7f00:1::1", "loopback"}, /* 6to4 of 127.0.0.1 */
        {"2002:808:808::1", NULL},
        {"fc00::1", "private"},
        {"fd12:3456::1", "private"},
        {"fe80::1", "link-local"},
        {"febf::1", "link-local"},
        {"fec0::1", "private"},
        {"ff02::1", "multicast"},
        {"2001:db8::1", "documentation"},
        {"2001::1", "reserved"}, /* Teredo */
        {"100::1", "reserved"},
        {"2606:4700:4700::1111", NULL},
        {"2a00:1450:4001:81b::200e", NULL},
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(cases); i++) {
        bool ok;
        const char *got = class_of(cases[i].addr, &ok);
        CHECK(ok);
        if (cases[i].want)
            CHECK_STR(got, cases[i].want);
        else if (got) {
            fprintf(stderr, "  %s: want public, got %s\n", cases[i].addr, got);
            CHECK(got == NULL);
        }
    }
    /* Neither family: refused. */
    struct sockaddr sa = {.sa_family = AF_UNIX};
    CHECK(cp_outbound_refused_class(&sa) != NULL);
    CHECK(cp_outbound_refused_class(NULL) != NULL);
}

TEST(allow_list)
{
    cp_proxies *allow;
    cp_error e;
    CHECK_EQ(cp_proxies_parse("127.0.0.1/32, 10.1.0.0/16, fd00::/8", &allow, &e), CP_OK);
    CHECK(allowed("127.0.0.1", allow));
    CHECK(allowed("::ffff:127.0.0.1", allow)); /* the mapped form of an allowed address */
    CHECK(!allowed("127.0.0.2", allow));
    CHECK(allowed("10.1.200.3", allow));
    CHECK(!allowed("10.2.0.1", allow));
    CHECK(allowed("fd00::5", allow));
    CHECK(!allowed("fe80::1", allow));
    CHECK(allowed("8.8.8.8", allow)); /* public: always */
    CHECK(!allowed("127.0.0.1", NULL));
    CHECK(allowed("8.8.8.8", NULL));
    cp_proxies_free(allow);
}

TEST(url_form)
{
    static const struct {
        const char *url;
        bool ok;
    } cases[] = {
        {"https://hooks.example.com/x", true},
        {"http://example.com", true},
        {"http://127.0.0.1:8080/hook?a=1", true},
        {"http://[::1]:9/x", true},
        {"ftp://example.com/x", false},
        {"file:///etc/passwd", false},
        {"gopher://example.com", false},
        {"example.com/hook", false},
        {"http:///nohost", false},
        {"http://user:pw@example.com/", false},
        {"http://user@example.com/", false},
        {"https://example.com/x#frag", false},
        {"HTTP://example.com/", false},
        {"http://", false},
        {"", false},
        {"http://exa mple.com/", false},
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(cases); i++)
        if (cp_outbound_url_ok(cases[i].url) != cases[i].ok) {
            fprintf(stderr, "  url %s: want %d\n", cases[i].url, cases[i].ok);
            CHECK(false);
        }
}

TEST(backoff)
{
    CHECK_EQ(cp_webhooks_backoff_ms(10000, 1, -1), 10000);
    CHECK_EQ(cp_webhooks_backoff_ms(10000, 2, -1), 20000);
    CHECK_EQ(cp_webhooks_backoff_ms(10000, 3, -1), 40000);
    CHECK_EQ(cp_webhooks_backoff_ms(10000, 40, -1), 3600000); /* at most an hour */
    CHECK_EQ(cp_webhooks_backoff_ms(200, 40, -1), 72000);     /* or 360 bases */
    CHECK_EQ(cp_webhooks_backoff_ms(10000, 1, 120), 120000);  /* a sane Retry-After wins */
    CHECK_EQ(cp_webhooks_backoff_ms(10000, 2, 86400), 20000); /* an insane one does not */
    CHECK_EQ(cp_webhooks_backoff_ms(10000, 2, 0), 20000);
}

TEST(signature_known_vector)
{
    char sig[CP_WEBHOOK_SIG_LEN];
    const char *secret = "whsec_test_secret_value", *body = "{\"a\":1}";
    cp_webhooks_sign(secret, strlen(secret), "1700000000", body, strlen(body), sig);
    /* python3: hmac.new(secret, b"1700000000." + body, sha256).hexdigest() */
    CHECK_STR(sig, "sha256=12bb52e86aebe0a53377b285d3e47b7f6f2aa9f516f17cf3da31a40272150250");
    cp_webhooks_sign(secret, strlen(secret), "1700000001", body, strlen(body), sig);
    CHECK(strcmp(sig, "sha256=12bb52e86aebe0a53377b285d3e47b7f6f2aa9f516f17cf3da31a40272150250") != 0);
}

int main(void)
{
    RUN(address_classes);
    RUN(allow_list);
    RUN(url_form);
    RUN(backoff);
    RUN(signature_known_vector);
    TEST_END();
}
