/* outbound.c: the address policy and the POST of outbound.h. */
#include "http/outbound.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    /* Only fails without memory; each easy handle would then fail too. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return;
}

void cp_outbound_init(void)
{
    pthread_once(&init_once, global_init);
}

/* ---- the address policy ---- */

typedef struct {
    uint8_t net[16];
    int bits;
    const char *why;
} range;

/* IPv4, by its first bytes and prefix length. */
typedef struct {
    uint8_t a, b, c;
    int bits;
    const char *why;
} range4;

static const range4 v4_ranges[] = {
    {0, 0, 0, 8, "unspecified"},     /* "this network" */
    {10, 0, 0, 8, "private"},        /* RFC 1918 */
    {100, 64, 0, 10, "cgnat"},       /* RFC 6598 */
    {127, 0, 0, 8, "loopback"},      /* */
    {169, 254, 0, 16, "link-local"}, /* */
    {172, 16, 0, 12, "private"},     /* */
    {192, 0, 0, 24, "reserved"},     /* IETF protocol assignments */
    {192, 0, 2, 24, "documentation"},
    {192, 88, 99, 24, "reserved"}, /* 6to4 relay anycast */
    {192, 168, 0, 16, "private"},
    {198, 18, 0, 15, "reserved"}, /* benchmarking */
    {198, 51, 100, 24, "documentation"},
    {203, 0, 113, 24, "documentation"},
    {224, 0, 0, 4, "multicast"},
    {240, 0, 0, 4, "reserved"}, /* and the broadcast address */
};

static const char *v4_class(const uint8_t ip[4])
{
    uint32_t x = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];
    for (size_t i = 0; i < CP_ARRAY_LEN(v4_ranges); i++) {
        const range4 *r = &v4_ranges[i];
        uint32_t net = (uint32_t)r->a << 24 | (uint32_t)r->b << 16 | (uint32_t)r->c << 8;
        uint32_t mask = r->bits ? 0xffffffffu << (32 - r->bits) : 0;
        if ((x & mask) == (net & mask)) return r->why;
    }
    return NULL;
}

static bool v6_in(const uint8_t ip[16], const uint8_t net[16], int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(ip, net, (size_t)full) != 0) return false;
    if (!rest) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (ip[full] & mask) == (net[full] & mask);
}

static const range v6_ranges[] = {
    {{0}, 128, "unspecified"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback"},
    {{0}, 96, "reserved"},                                  /* IPv4-compatible (deprecated) */
    {{0x01, 0x00}, 64, "reserved"},                         /* discard-only */
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, "reserved"}, /* local-use NAT64 */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation"},        /* */
    {{0x20, 0x01, 0x00, 0x00}, 23, "reserved"},             /* IETF protocol assignments, Teredo */
    {{0x3f, 0xff, 0xf0, 0x00}, 20, "documentation"},        /* RFC 9637 */
    {{0xfc, 0x00}, 7, "private"},                           /* unique local */
    {{0xfe, 0x80}, 10, "link-local"},                       /* */
    {{0xfe, 0xc0}, 10, "private"},                          /* site-local (deprecated) */
    {{0xff, 0x00}, 8, "multicast"},                         /* */
};

static const char *v6_class(const uint8_t ip[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    /* Forms that carry an IPv4 address: judged by it. */
    if (!memcmp(ip, mapped, 12) || !memcmp(ip, nat64, 12)) return v4_class(ip + 12);
    if (ip[0] == 0x20 && ip[1] == 0x02) return v4_class(ip + 2); /* 6to4 */
    for (size_t i = 0; i < CP_ARRAY_LEN(v6_ranges); i++)
        if (v6_in(ip, v6_ranges[i].net, v6_ranges[i].bits)) return v6_ranges[i].why;
    return NULL;
}

const char *cp_outbound_refused_class(const struct sockaddr *sa)
{
    if (!sa) return "unspecified";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_class((const uint8_t *)&in->sin_addr);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return v6_class(in6->sin6_addr.s6_addr);
    }
    return "reserved"; /* no other family is ever connected to */
}

bool cp_outbound_allowed(const struct sockaddr *sa, const cp_proxies *allow)
{
    if (!cp_outbound_refused_class(sa)) return true;
    if (!allow || !sa) return false;
    char text[INET6_ADDRSTRLEN];
    const void *addr = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                                                : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!inet_ntop(sa->sa_family, addr, text, sizeof text)) return false;
    return cp_proxies_contains(allow, text);
}

bool cp_outbound_url_ok(const char *url)
{
    CURLU *u = curl_url();
    bool ok = false;
    char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL, *fragment = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) goto out;
    if (strcmp(scheme, "http") && strcmp(scheme, "https")) goto out;
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) goto out;
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) goto out;
    if (curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) goto out;
    if (curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) goto out;
    /* The URL as given, not curl's guess: "http://" or "https://" must lead
     * it, and a host follow ("http:///x" is read by curl as host x). */
    const char *rest = !strncmp(url, "http://", 7) ? url + 7 : !strncmp(url, "https://", 8) ? url + 8 : NULL;
    ok = rest && *rest && *rest != '/' && *rest != '?' && *rest != '#';
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(password);
    curl_free(fragment);
    curl_url_cleanup(u);
    return ok;
}

/* ---- the POST ---- */

typedef struct {
    const cp_proxies *allow;
    bool refused, opened; /* some address was refused; some was allowed and tried */
    const char *why;
} sock_ctx;

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
    sock_ctx *sc = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN || !cp_outbound_allowed(&address->addr, sc->allow)) {
        sc->refused = true;
        sc->why = cp_outbound_refused_class(&address->addr);
        return CURL_SOCKET_BAD;
    }
    sc->opened = true;
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* The response body is not kept: a receiver's reply is its own business. */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    CP_UNUSED(ptr);
    CP_UNUSED(userdata);
    return size * nmemb;
}

void cp_outbound_post(const cp_outbound_req *q, cp_outbound_res *out)
{
    memset(out, 0, sizeof *out);
    out->retry_after_s = -1;
    if (!cp_outbound_url_ok(q->url)) {
        out->outcome = CP_OUT_BAD_URL;
        snprintf(out->error, sizeof out->error, "invalid URL");
        return;
    }
    cp_outbound_init();
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    if (!h) {
        out->outcome = CP_OUT_OTHER;
        snprintf(out->error, sizeof out->error, "cannot start a request");
        return;
    }
    for (size_t i = 0; i < q->nheaders; i++) hdrs = curl_slist_append(hdrs, q->headers[i]);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    sock_ctx sc = {q->allow, false, false, NULL};
    char errbuf[CURL_ERROR_SIZE] = "";
    /* Options fail only on an unknown option or no memory; the request then fails. */
    (void)curl_easy_setopt(h, CURLOPT_URL, q->url);
    (void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    (void)curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    (void)curl_easy_setopt(h, CURLOPT_PROXY, "");
    (void)curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, q->timeout_ms);
    (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, q->timeout_ms);
    (void)curl_easy_setopt(h, CURLOPT_POST, 1L);
    (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
    (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len);
    (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    (void)curl_easy_setopt(h, CURLOPT_USERAGENT, "cloudplane-webhooks/1");
    (void)curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    (void)curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &sc);
    (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    (void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    /* A connection is never reused: each one's address is checked as it opens. */
    (void)curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    int64_t t0 = cp_mono_ms();
    CURLcode rc = curl_easy_perform(h);
    out->duration_ms = cp_mono_ms() - t0;
    if (rc == CURLE_OK) {
        out->outcome = CP_OUT_OK;
        (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
        curl_off_t ra = -1;
        if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0) out->retry_after_s = (long)ra;
    } else if (sc.refused && !sc.opened) {
        /* Every address was refused; one that was allowed but failed is a connection error. */
        out->outcome = CP_OUT_REFUSED;
        snprintf(out->error, sizeof out->error, "address not allowed");
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        out->outcome = CP_OUT_TIMEOUT;
        snprintf(out->error, sizeof out->error, "timeout after %ld ms", q->timeout_ms);
    } else if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR ||
               rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING) {
        out->outcome = CP_OUT_CONNECT;
        snprintf(out->error, sizeof out->error, "%.150s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else {
        out->outcome = CP_OUT_OTHER;
        snprintf(out->error, sizeof out->error, "%.150s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
}
