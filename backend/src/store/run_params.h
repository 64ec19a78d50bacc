/* run_params.h: what a run wants its resource to be, stored with the run as
 * JSON text ({name, region, size, config, monthly_cost_usd}). The API encodes
 * it when it queues a run; the worker decodes it to run tofu and, on success,
 * hands the store the values to write. The store keeps the text only. */
#ifndef CP_RUN_PARAMS_H
#define CP_RUN_PARAMS_H

#include <jansson.h>

typedef struct {
    const char *name;
    const char *region;
    const char *size;          /* NULL: none (storage), or absent */
    json_t *config;            /* object; NULL when absent (borrowed) */
    double monthly_cost_usd;   /* 0 when absent */
    json_t *doc;               /* decode only: owns the values above */
    const char *status_before; /* decode only: the resource's status at the run's first claim, NULL if not kept */
} cp_run_params;

/* The key the store adds to a run's params when it first claims it (the
 * resource's status then, "active" or "failed"). */
#define CP_RUN_STATUS_BEFORE "resource_status_before"

/* JSON text (compact, sorted keys); a NULL config is written as {}. Returns
 * malloc'd text for the caller to free, or NULL (name/region missing, OOM). */
char *cp_run_params_encode(const cp_run_params *p);
/* Reads text leniently, as every reader always did: a missing, mistyped or
 * unreadable field reads as absent (NULL or 0). Never fails; release *out
 * with cp_run_params_release. */
void cp_run_params_decode(const char *text, cp_run_params *out);
void cp_run_params_release(cp_run_params *p);

#endif
