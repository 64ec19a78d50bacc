/* outbound.h: requests the platform itself sends to addresses users chose
 * (webhooks). One POST through libcurl: no proxy, no redirects, http and
 * https only, a hard timeout, and every address curl is about to connect to
 * checked first (CURLOPT_OPENSOCKETFUNCTION), so what was checked is what is
 * connected to and a DNS answer that changes between a check and the
 * connection (rebinding) cannot get round it. Loopback, private, link-local,
 * CGNAT, unspecified, multicast, reserved and documentation ranges, and the
 * IPv6 forms that embed them, are refused unless the operator's allow-list
 * (CLOUDPLANE_WEBHOOK_ALLOW_CIDRS) holds the address. */
#ifndef CP_OUTBOUND_H
#define CP_OUTBOUND_H

#include <sys/socket.h>

#include "core/error.h"
#include "http/clientaddr.h"

/* Once, before threads send (curl_global_init). */
void cp_outbound_init(void);

/* Why sa may not be connected to without an allow-list entry ("loopback",
 * "private", "link-local", "cgnat", "unspecified", "multicast", "reserved",
 * "documentation"), or NULL for a public address. IPv4-mapped, NAT64 and
 * 6to4 IPv6 addresses are judged by the IPv4 address they carry. */
const char *cp_outbound_refused_class(const struct sockaddr *sa);
/* True when sa may be connected to: public, or inside allow (may be NULL). */
bool cp_outbound_allowed(const struct sockaddr *sa, const cp_proxies *allow);

/* A URL users may give: http or https, a host, no userinfo, no fragment
 * (checked again when sent). */
bool cp_outbound_url_ok(const char *url);

typedef enum {
    CP_OUT_OK,      /* a response came (any status) */
    CP_OUT_REFUSED, /* every address was refused: "address not allowed" */
    CP_OUT_TIMEOUT, /* no whole response within the timeout */
    CP_OUT_CONNECT, /* resolution or connection failed */
    CP_OUT_BAD_URL, /* the URL is not one users may give */
    CP_OUT_OTHER,   /* TLS or protocol errors */
} cp_outbound_outcome;

typedef struct {
    const char *url;
    const char *body;
    size_t len;
    const char *const *headers; /* "Name: value" lines */
    size_t nheaders;
    long timeout_ms;
    const cp_proxies *allow; /* may be NULL */
} cp_outbound_req;

typedef struct {
    cp_outbound_outcome outcome;
    long status;        /* HTTP status when outcome is CP_OUT_OK */
    long retry_after_s; /* Retry-After in seconds; -1 when absent */
    int64_t duration_ms;
    char error[160]; /* for people; never the body or headers sent */
} cp_outbound_res;

void cp_outbound_post(const cp_outbound_req *q, cp_outbound_res *out);

#endif
