/* guardrails_cache.h: parsed guardrail rules per project, so an order and
 * each call of the order form's check do not parse the stored rules and
 * compile their tag patterns again. An entry is keyed by the project and
 * checked against the stored row it was parsed from (updated_at and the
 * rules text): a PUT on any instance changes the row, so the next read of
 * every instance parses again. Thread-safe; bounded (one entry per slot,
 * slots picked by the project id's hash, a collision replaces). */
#ifndef CP_GUARDRAILS_CACHE_H
#define CP_GUARDRAILS_CACHE_H

#include <stdint.h>

#include "engine/guardrails.h"

typedef struct cp_gr_cache cp_gr_cache;

cp_gr_cache *cp_gr_cache_new(void);
void cp_gr_cache_free(cp_gr_cache *c);

/* The parsed rules of project_id as stored (rules: the row's JSON text,
 * NULL = {}; updated_at: the row's). From the cache when the entry was
 * parsed from the same row, parsed and cached otherwise. *out is a
 * reference the caller releases with cp_guardrails_free. Errors as
 * cp_guardrails_parse (nothing is cached then). */
cp_result cp_gr_cache_get(cp_gr_cache *c, const char *project_id, int64_t updated_at, const char *rules,
                          cp_guardrails **out, cp_error *err) CP_MUST_CHECK;
/* Drops project_id's entry (after this instance's PUT: the memory goes now). */
void cp_gr_cache_forget(cp_gr_cache *c, const char *project_id);

/* Hits and misses so far (tests, benches). */
void cp_gr_cache_stats(cp_gr_cache *c, uint64_t *hits, uint64_t *misses);

#endif
