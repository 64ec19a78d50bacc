/* ratelimit.h: sliding-window failure counters keyed by string (login email,
 * client address). In-process: in distributed mode each API instance counts
 * on its own. */
#ifndef CP_RATELIMIT_H
#define CP_RATELIMIT_H

#include "core/cp.h"

typedef struct cp_ratelimit cp_ratelimit;

/* At most `limit` failures per key within window_ms; at most max_keys tracked. */
cp_ratelimit *cp_ratelimit_new(int limit, int64_t window_ms, size_t max_keys);
void cp_ratelimit_free(cp_ratelimit *rl);
/* True when key is over the limit at now_ms; *retry_after_s gets the wait. */
bool cp_ratelimit_blocked(cp_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s);
void cp_ratelimit_fail(cp_ratelimit *rl, const char *key, int64_t now_ms);
void cp_ratelimit_reset(cp_ratelimit *rl, const char *key);

#endif
