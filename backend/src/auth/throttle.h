/* throttle.h: per-key token buckets for request rates (the sandbox cloud's
 * per-API-key limit). A bucket holds up to burst tokens, refills at rate
 * tokens a second, and each request takes one. In-process: in distributed
 * mode each API instance counts on its own, as auth/ratelimit.h does. */
#ifndef CP_THROTTLE_H
#define CP_THROTTLE_H

#include "core/cp.h"

typedef struct cp_throttle cp_throttle;

/* rate > 0 tokens a second, burst >= 1; at most max_keys buckets tracked.
 * The caller owns the result (cp_throttle_free). */
cp_throttle *cp_throttle_new(double rate, double burst, size_t max_keys) CP_MUST_CHECK;
void cp_throttle_free(cp_throttle *t);
/* Takes a token from key's bucket at now_ms: true if there was one; else
 * false and *retry_after_s gets the whole seconds (>= 1) until there is. */
bool cp_throttle_take(cp_throttle *t, const char *key, int64_t now_ms, int *retry_after_s);

#endif
