#include "http/clientaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

/* Addresses are compared as 16 bytes; IPv4 as IPv4-mapped IPv6, so one
 * matcher serves both families. */
typedef struct {
    unsigned char net[16];
    int bits; /* prefix length over the 16 bytes */
} cidr;

struct cp_proxies {
    size_t n;
    cidr items[];
};

/* Text address (no brackets, no port) to 16 bytes; false if not an address. */
static bool parse_ip(const char *s, unsigned char out[16], bool *v4)
{
    struct in_addr a4;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        *v4 = true;
        return true;
    }
    *v4 = false;
    return inet_pton(AF_INET6, s, out) == 1;
}

static bool in_cidr(const cidr *c, const unsigned char ip[16])
{
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->net, ip, (size_t)full) != 0) return false;
    if (!rest) return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->net[full] & mask) == (ip[full] & mask);
}

static cp_result parse_cidr(const char *s, cidr *out, cp_error *err)
{
    char host[CP_ADDR_MAX];
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    if (hl == 0 || hl >= sizeof host) goto bad;
    memcpy(host, s, hl);
    host[hl] = '\0';
    bool v4;
    if (!parse_ip(host, out->net, &v4)) goto bad;
    int max = v4 ? 32 : 128, bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || b < 0 || b > max) goto bad;
        bits = (int)b;
    }
    out->bits = bits + (v4 ? 96 : 0);
    /* Host bits set (10.0.0.1/8) usually means a typo: refuse rather than guess. */
    unsigned char probe[16];
    memcpy(probe, out->net, 16);
    for (int i = out->bits; i < 128; i++) probe[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
    if (memcmp(probe, out->net, 16) != 0)
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL,
                            "trusted proxy '%s' has host bits set beyond its prefix", s);
    return CP_OK;
bad:
    return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "trusted proxy '%s' is not an IPv4 or IPv6 address or CIDR",
                        s);
}

cp_result cp_proxies_parse(const char *spec, cp_proxies **out, cp_error *err)
{
    *out = NULL;
    if (!spec) return CP_OK;
    size_t cap = 1;
    for (const char *p = spec; *p; p++) cap += *p == ',';
    cp_proxies *ps = cp_xcalloc(1, sizeof *ps + cap * sizeof(cidr));
    char *copy = cp_xstrdup(spec);
    cp_result r = CP_OK;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t') tok++;
        size_t l = strlen(tok);
        while (l && (tok[l - 1] == ' ' || tok[l - 1] == '\t')) tok[--l] = '\0';
        if (!l) continue;
        if ((r = parse_cidr(tok, &ps->items[ps->n], err)) != CP_OK) goto out;
        ps->n++;
    }
    if (ps->n) {
        *out = ps;
        ps = NULL;
    }
out:
    free(copy);
    free(ps);
    return r;
}

void cp_proxies_free(cp_proxies *p)
{
    free(p);
}

static bool contains_ip(const cp_proxies *p, const unsigned char ip[16])
{
    if (!p) return false;
    for (size_t i = 0; i < p->n; i++)
        if (in_cidr(&p->items[i], ip)) return true;
    return false;
}

bool cp_proxies_contains(const cp_proxies *p, const char *addr)
{
    unsigned char ip[16];
    bool v4;
    return addr && parse_ip(addr, ip, &v4) && contains_ip(p, ip);
}

/* One X-Forwarded-For entry [start, end) to an address: "a.b.c.d",
 * "a.b.c.d:port", "v6", "[v6]" or "[v6]:port". */
static bool parse_entry(const char *start, const char *end, char text[CP_ADDR_MAX], unsigned char ip[16])
{
    while (start < end && (*start == ' ' || *start == '\t')) start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
    if (end <= start || end - start >= CP_ADDR_MAX) return false;
    size_t n = (size_t)(end - start);
    char buf[CP_ADDR_MAX];
    memcpy(buf, start, n);
    buf[n] = '\0';
    char *host = buf;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close || (close[1] && close[1] != ':')) return false;
        *close = '\0';
        host = buf + 1;
    } else {
        char *colon = strchr(buf, ':');
        /* One colon: IPv4 with a port; more: a bare IPv6 address. */
        if (colon && !strchr(colon + 1, ':')) *colon = '\0';
    }
    bool v4;
    if (!parse_ip(host, ip, &v4)) return false;
    snprintf(text, CP_ADDR_MAX, "%s", host);
    return true;
}

void cp_client_addr(const cp_proxies *p, const char *peer, const char *xff, char out[CP_ADDR_MAX])
{
    snprintf(out, CP_ADDR_MAX, "%s", peer ? peer : "");
    unsigned char ip[16];
    bool v4;
    if (!xff || !p || !parse_ip(out, ip, &v4) || !contains_ip(p, ip)) return;
    const char *end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',') start--;
        char text[CP_ADDR_MAX];
        if (!parse_entry(start, end, text, ip)) return;
        memcpy(out, text, CP_ADDR_MAX);
        if (!contains_ip(p, ip)) return;
        end = start > xff ? start - 1 : xff;
    }
}

void cp_client_key(const char *addr, char out[CP_ADDR_MAX])
{
    unsigned char ip[16];
    bool v4;
    snprintf(out, CP_ADDR_MAX, "%s", addr);
    if (!parse_ip(addr, ip, &v4)) return;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (v4 || !memcmp(ip, mapped, sizeof mapped)) {
        inet_ntop(AF_INET, ip + 12, out, CP_ADDR_MAX);
        return;
    }
    memset(ip + 8, 0, 8);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, ip, text, sizeof text);
    snprintf(out, CP_ADDR_MAX, "%s/64", text);
}
