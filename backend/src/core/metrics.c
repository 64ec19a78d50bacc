/* metrics.c: histograms, the process-wide instruments, the text format and
 * the process_* families. */
#include "core/metrics.h"

#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

cp_metrics_counters cp_metrics;

const double cp_hist_bounds_request[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const size_t cp_hist_bounds_request_n = sizeof cp_hist_bounds_request / sizeof cp_hist_bounds_request[0];
const double cp_hist_bounds_phase[] = {0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
const size_t cp_hist_bounds_phase_n = sizeof cp_hist_bounds_phase / sizeof cp_hist_bounds_phase[0];

int64_t cp_metrics_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void cp_histogram_observe(cp_histogram *h, int64_t us)
{
    if (us < 0) us = 0;
    double s = (double)us / 1e6;
    size_t i = 0;
    while (i < h->n && s > h->bounds[i]) i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (uint64_t)us, memory_order_relaxed);
}

void cp_metrics_head(cp_buf *b, const char *name, const char *type, const char *help)
{
    cp_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void cp_metrics_histogram(cp_buf *b, const char *name, const char *labels, const cp_histogram *h)
{
    const char *sep = labels[0] ? "," : "";
    uint64_t cum = 0;
    for (size_t i = 0; i <= h->n; i++) {
        cum += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        if (i < h->n)
            cp_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n", name, labels, sep, h->bounds[i], cum);
        else
            cp_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, sep, cum);
    }
    /* Read after the buckets: a racing observation shows in _sum at worst, never in _count alone. */
    uint64_t sum = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
    const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
    cp_buf_printf(b, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %" PRIu64 "\n", name, open, labels, close, (double)sum / 1e6,
                  name, open, labels, close, cum);
}

/* ---- run phases ---- */

static const char *const phase_names[CP_PHASE_COUNT] = {
    [CP_PHASE_INIT] = "init",
    [CP_PHASE_PLAN] = "plan",
    [CP_PHASE_APPLY] = "apply",
    [CP_PHASE_DESTROY] = "destroy",
    [CP_PHASE_SHOW] = "show",
    [CP_PHASE_OUTPUT] = "output",
    [CP_PHASE_FORCE_UNLOCK] = "force-unlock",
    [CP_PHASE_OTHER] = "other",
};

/* Clouds take a slot when first seen (the catalog's few); the last slot is
 * "other". Slot names are static strings, so a slot, once set, never changes. */
static _Atomic(const char *) phase_clouds[CP_METRICS_SLOTS];
static cp_histogram phase_hist[CP_PHASE_COUNT][CP_METRICS_SLOTS];
static pthread_once_t phase_once = PTHREAD_ONCE_INIT;

static void phase_init(void)
{
    for (size_t p = 0; p < CP_PHASE_COUNT; p++)
        for (size_t c = 0; c < CP_METRICS_SLOTS; c++) {
            phase_hist[p][c].bounds = cp_hist_bounds_phase;
            phase_hist[p][c].n = cp_hist_bounds_phase_n;
        }
    atomic_store(&phase_clouds[CP_METRICS_SLOTS - 1], "other");
}

const char *cp_metrics_phase_name(cp_metrics_phase p)
{
    return (unsigned)p < CP_PHASE_COUNT ? phase_names[p] : "other";
}

static size_t cloud_slot(const char *cloud)
{
    if (!cloud) return CP_METRICS_SLOTS - 1;
    for (size_t i = 0; i < CP_METRICS_SLOTS - 1; i++) {
        const char *cur = atomic_load(&phase_clouds[i]);
        if (!cur) {
            const char *expect = NULL;
            if (atomic_compare_exchange_strong(&phase_clouds[i], &expect, cloud)) return i;
            cur = expect; /* another thread took it first */
        }
        if (!strcmp(cur, cloud)) return i;
    }
    return CP_METRICS_SLOTS - 1;
}

void cp_metrics_phase_observe(const char *phase, const char *cloud, int64_t us)
{
    pthread_once(&phase_once, phase_init);
    size_t p = CP_PHASE_OTHER;
    for (size_t i = 0; i < CP_PHASE_OTHER; i++)
        if (phase && !strcmp(phase, phase_names[i])) p = i;
    cp_histogram_observe(&phase_hist[p][cloud_slot(cloud)], us);
}

const char *cp_metrics_phase_cloud(size_t i)
{
    pthread_once(&phase_once, phase_init);
    return i < CP_METRICS_SLOTS ? atomic_load(&phase_clouds[i]) : NULL;
}

const cp_histogram *cp_metrics_phase_hist(cp_metrics_phase p, size_t cloud)
{
    pthread_once(&phase_once, phase_init);
    return &phase_hist[p < CP_PHASE_COUNT ? p : CP_PHASE_OTHER]
                      [cloud < CP_METRICS_SLOTS ? cloud : CP_METRICS_SLOTS - 1];
}

/* ---- process_* ---- */

/* Field 22 of /proc/self/stat (starttime, clock ticks after boot); the
 * command name (field 2) may hold spaces, so fields count from its ')'. */
static double start_time_seconds(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long ticks = 0;
    for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
    if (!p || sscanf(p + 1, "%llu", &ticks) != 1) return 0;
    unsigned long long btime = 0;
    char line[256];
    f = fopen("/proc/stat", "re");
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %llu", &btime) == 1) break;
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    return (double)btime + (double)ticks / (double)(hz > 0 ? hz : 100);
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}

void cp_metrics_process(cp_buf *b)
{
    struct rusage ru;
    double cpu = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
              (double)ru.ru_stime.tv_usec / 1e6;
    cp_metrics_head(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    cp_buf_printf(b, "process_cpu_seconds_total %.6f\n", cpu);

    unsigned long long vpages = 0, rpages = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        if (fscanf(f, "%llu %llu", &vpages, &rpages) != 2) vpages = rpages = 0;
        fclose(f);
    }
    long page = sysconf(_SC_PAGESIZE);
    cp_metrics_head(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    cp_buf_printf(b, "process_resident_memory_bytes %llu\n", rpages * (unsigned long long)page);
    cp_metrics_head(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    cp_buf_printf(b, "process_virtual_memory_bytes %llu\n", vpages * (unsigned long long)page);

    cp_metrics_head(b, "process_open_fds", "gauge", "Number of open file descriptors.");
    cp_buf_printf(b, "process_open_fds %ld\n", open_fds());
    struct rlimit rl;
    cp_metrics_head(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    cp_buf_printf(b, "process_max_fds %llu\n",
                  getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (unsigned long long)rl.rlim_cur : 0ULL);
    cp_metrics_head(b, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    cp_buf_printf(b, "process_start_time_seconds %.2f\n", start_time_seconds());
}
