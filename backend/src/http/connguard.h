/* connguard.h: connection-level abuse limits of the HTTP server. Counts open
 * connections per client key (cp_client_key of the socket peer) to refuse one
 * past the per-IP limit, and gives every connection a read deadline: from
 * accept (or the end of the previous response) until its request is read in
 * full. libmicrohttpd's own timeout is an inactivity timeout, which a client
 * sending one byte a second never trips; the deadline does. Past it, a ticker
 * thread shuts the socket down (shutdown(2), never close: the fd still
 * belongs to libmicrohttpd), so the server drops the connection itself. */
#ifndef CP_CONNGUARD_H
#define CP_CONNGUARD_H

#include "core/cp.h"

typedef struct cp_connguard cp_connguard;
typedef struct cp_guarded cp_guarded;

/* per_ip 0 = no connection limit. Starts the ticker. The caller owns it. */
cp_connguard *cp_connguard_new(int per_ip, int read_timeout_s) CP_MUST_CHECK;
/* Stops the ticker; every connection must be closed first. */
void cp_connguard_free(cp_connguard *g);
/* May a new connection from key open now? exempt (a trusted proxy) always may. */
bool cp_connguard_admit(cp_connguard *g, const char *key, bool exempt);
/* A connection opened (counted under key unless exempt) with its socket; the
 * read deadline starts now. The result is the connection's handle. */
cp_guarded *cp_connguard_open(cp_connguard *g, const char *key, bool exempt, int fd);
void cp_connguard_close(cp_connguard *g, cp_guarded *c);
/* Restarts the read deadline (a new request may come), or stops it (the
 * request is read; writing the response is not bounded by it). */
void cp_connguard_arm(cp_connguard *g, cp_guarded *c);
void cp_connguard_disarm(cp_connguard *g, cp_guarded *c);
/* Since start, across every guard of the process (for /metrics): connections
 * refused by the per-IP limit, and slow clients cut off at their deadline. */
void cp_connguard_totals(uint64_t *refused, uint64_t *cut);

#endif
