/* redis_int.h: what the Redis queue and the Redis events hub share: URL
 * parsing, connecting with timeouts (plus AUTH and SELECT), reply checks.
 * Private to src/queue; the public contracts are queue.h and events.h. */
#ifndef CP_REDIS_INT_H
#define CP_REDIS_INT_H

#include <hiredis/hiredis.h>

#include "core/error.h"

typedef struct {
    bool unix_socket; /* host is then a socket path */
    char host[256];
    int port;
    char user[128];
    char pass[256];
    int db;
} cp_redis_addr;

/* Accepts redis://[[user]:password@]host[:port][/db] (host may be [v6]) and
 * unix:///path/to.sock[?db=N]. CP_EINVAL for anything else (rediss:// too:
 * hiredis 0.14 has no TLS). */
cp_result cp_redis_parse_url(const char *url, cp_redis_addr *out, cp_error *err) CP_MUST_CHECK;

/* Connects, enables TCP keepalive, sets the socket send/receive timeout to
 * io_timeout_ms (> 0), then runs AUTH and SELECT as the address asks. Returns
 * NULL with err set on failure. The caller owns the context: redisFree(). */
redisContext *cp_redis_connect(const cp_redis_addr *a, int connect_timeout_ms, int io_timeout_ms, cp_error *err);

/* "host:port" or the socket path, for messages; never the password. */
void cp_redis_describe(const cp_redis_addr *a, char *buf, size_t cap);

/* True when r is an error reply whose text starts with prefix ("BUSYGROUP"). */
bool cp_redis_is_err(const redisReply *r, const char *prefix);

#endif
