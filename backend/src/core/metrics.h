/* metrics.h: this process's Prometheus instruments and the text format 0.0.4
 * writer. Counters and histograms are plain atomics in arrays whose every
 * label value is enumerated up front (an enum's index, a route's index, a
 * cloud among a few slots), so the hot path takes no lock and no series is
 * ever made from a request's data. The scrape (api/metrics.c) names the
 * labels; the modules that count only add. */
#ifndef CP_METRICS_H
#define CP_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/buf.h"

/* ---- histograms ---- */

#define CP_HIST_MAX_BOUNDS 16

/* Bounds in seconds, ascending; counts[i] are observations <= bounds[i] and
 * > bounds[i-1] (not cumulative), counts[n] the rest (+Inf). Zeroed storage
 * with bounds set is an empty histogram. */
typedef struct {
    const double *bounds;
    size_t n;
    _Atomic uint64_t counts[CP_HIST_MAX_BOUNDS + 1];
    _Atomic uint64_t sum_us;
} cp_histogram;

/* Prometheus's default buckets (5 ms .. 10 s): request durations. */
extern const double cp_hist_bounds_request[];
extern const size_t cp_hist_bounds_request_n;
/* 0.5 s .. 1 h: tofu phases. */
extern const double cp_hist_bounds_phase[];
extern const size_t cp_hist_bounds_phase_n;

void cp_histogram_observe(cp_histogram *h, int64_t us);

/* Monotonic microseconds, for durations. */
int64_t cp_metrics_mono_us(void);

/* ---- the text format ---- */

/* "# HELP name help\n# TYPE name type\n". */
void cp_metrics_head(cp_buf *b, const char *name, const char *type, const char *help);
/* name_bucket{labels,le="..."} (cumulative, +Inf last), name_sum, name_count.
 * labels: "" or `a="x",b="y"` (values already escaped). */
void cp_metrics_histogram(cp_buf *b, const char *name, const char *labels, const cp_histogram *h);
/* process_* families from /proc/self (Linux), as client libraries name them. */
void cp_metrics_process(cp_buf *b);

/* ---- process-wide instruments ---- */

/* Label slots of the enumerated families; each counting module checks its
 * enum fits (static assert). */
#define CP_METRICS_SLOTS 8

/* Phases of tofu runs (engine/runner_phase.c), the labels' order. */
typedef enum {
    CP_PHASE_INIT,
    CP_PHASE_PLAN,
    CP_PHASE_APPLY,
    CP_PHASE_DESTROY, /* the apply of a destroy run */
    CP_PHASE_SHOW,
    CP_PHASE_OUTPUT,
    CP_PHASE_FORCE_UNLOCK,
    CP_PHASE_OTHER,
    CP_PHASE_COUNT
} cp_metrics_phase;
const char *cp_metrics_phase_name(cp_metrics_phase p);
/* One finished tofu phase of the named cloud (static storage, e.g. the
 * catalog's id; NULL or a cloud past the slots counts as "other"). */
void cp_metrics_phase_observe(const char *phase, const char *cloud, int64_t us);
/* The cloud label of slot i, NULL when the slot is unused (slot
 * CP_METRICS_SLOTS - 1 is "other"); its phase histograms. */
const char *cp_metrics_phase_cloud(size_t i);
const cp_histogram *cp_metrics_phase_hist(cp_metrics_phase p, size_t cloud);

typedef struct {
    _Atomic uint64_t lock_conflicts;                                       /* runs that met another's state lock */
    _Atomic uint64_t guardrail_checks[CP_METRICS_SLOTS][CP_METRICS_SLOTS]; /* [level][outcome] */
    _Atomic uint64_t webhook_deliveries[CP_METRICS_SLOTS];                 /* [delivery status] */
    _Atomic int64_t event_streams;                                         /* open SSE streams */
    _Atomic int64_t worker_slots, workers_busy;                            /* this process's run workers */
} cp_metrics_counters;

extern cp_metrics_counters cp_metrics;

#define cp_metrics_inc(field) atomic_fetch_add_explicit(&cp_metrics.field, 1, memory_order_relaxed)
#define cp_metrics_dec(field) atomic_fetch_sub_explicit(&cp_metrics.field, 1, memory_order_relaxed)
#define cp_metrics_get(field) atomic_load_explicit(&cp_metrics.field, memory_order_relaxed)

#endif
