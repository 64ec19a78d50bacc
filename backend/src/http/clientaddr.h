/* clientaddr.h: who the client is. The socket peer, or, when the peer is one
 * of the operator's trusted proxies (CLOUDPLANE_TRUSTED_PROXIES), the address
 * the proxies recorded in X-Forwarded-For. Also the key rate limits and
 * connection counts use: an IPv4 address as is, an IPv6 address by its /64
 * (one subscriber usually holds a whole /64). */
#ifndef CP_CLIENTADDR_H
#define CP_CLIENTADDR_H

#include "core/error.h"

#define CP_ADDR_MAX 64 /* text of an address or a /64 key, NUL included */

typedef struct cp_proxies cp_proxies;

/* Parses "cidr[,cidr...]" (IPv4 and IPv6, a bare address is a /32 or /128).
 * Empty or NULL gives an empty list (*out stays NULL). On a malformed entry
 * err says which one. The caller owns *out (cp_proxies_free). */
cp_result cp_proxies_parse(const char *spec, cp_proxies **out, cp_error *err) CP_MUST_CHECK;
void cp_proxies_free(cp_proxies *p);
/* True when addr (text) lies inside one of the CIDRs; false for NULL p. */
bool cp_proxies_contains(const cp_proxies *p, const char *addr);

/* The client's address into out: the peer, unless the peer is trusted; then
 * X-Forwarded-For is read from the right, and the first address that is not
 * itself a trusted proxy is the client. A malformed entry stops the walk at
 * the last good address (entries left of it come from the client and prove
 * nothing). xff may be NULL. */
void cp_client_addr(const cp_proxies *p, const char *peer, const char *xff, char out[CP_ADDR_MAX]);
/* The limit key of an address: IPv4 (also IPv4-mapped IPv6) as is, IPv6 as
 * "<prefix>::/64"; anything unparsable is returned unchanged. */
void cp_client_key(const char *addr, char out[CP_ADDR_MAX]);

#endif
