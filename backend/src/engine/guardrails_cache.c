/* guardrails_cache.c: parsed guardrail rules per project (guardrails_cache.h).
 * The lock is held only to look a slot up or swap it; parsing happens
 * outside it. A cached cp_guardrails is shared: each reader holds a
 * reference, so an entry replaced while in use is freed by its last reader. */
#include "engine/guardrails_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define SLOTS 256
#define ID_MAX 64

typedef struct {
    char project_id[ID_MAX + 1]; /* "" = empty slot */
    int64_t updated_at;
    char *rules; /* the text parsed */
    cp_guardrails *g;
} slot;

struct cp_gr_cache {
    pthread_mutex_t mu;
    uint64_t hits, misses;
    slot slots[SLOTS];
};

cp_gr_cache *cp_gr_cache_new(void)
{
    cp_gr_cache *c = cp_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void slot_clear(slot *s, cp_guardrails **drop, char **drop_text)
{
    *drop = s->g;
    *drop_text = s->rules;
    memset(s, 0, sizeof *s);
}

void cp_gr_cache_free(cp_gr_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i < SLOTS; i++) {
        cp_guardrails_free(c->slots[i].g);
        free(c->slots[i].rules);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static slot *slot_of(cp_gr_cache *c, const char *project_id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)project_id; *p; p++) h = (h ^ *p) * 16777619u;
    return &c->slots[h % SLOTS];
}

cp_result cp_gr_cache_get(cp_gr_cache *c, const char *project_id, int64_t updated_at, const char *rules,
                          cp_guardrails **out, cp_error *err)
{
    *out = NULL;
    if (!rules) rules = "{}";
    bool cacheable = project_id && strlen(project_id) <= ID_MAX;
    slot *s = cacheable ? slot_of(c, project_id) : NULL;
    if (s) {
        pthread_mutex_lock(&c->mu);
        if (!strcmp(s->project_id, project_id) && s->updated_at == updated_at && !strcmp(s->rules, rules)) {
            *out = cp_guardrails_ref(s->g);
            c->hits++;
        } else {
            c->misses++;
        }
        pthread_mutex_unlock(&c->mu);
        if (*out) return CP_OK;
    }
    json_t *doc = json_loads(rules, 0, NULL);
    cp_guardrails *g;
    cp_result r = cp_guardrails_parse(doc, &g, err);
    json_decref(doc);
    if (r != CP_OK) return r;
    *out = g;
    if (!s) return CP_OK;
    cp_guardrails *drop = NULL;
    char *drop_text = NULL, *text = cp_xstrdup(rules);
    pthread_mutex_lock(&c->mu);
    /* Another reader may have cached a newer row meanwhile: never go back. */
    if (strcmp(s->project_id, project_id) != 0 || s->updated_at <= updated_at) {
        slot_clear(s, &drop, &drop_text);
        snprintf(s->project_id, sizeof s->project_id, "%s", project_id);
        s->updated_at = updated_at;
        s->rules = text;
        s->g = cp_guardrails_ref(g);
        text = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    free(text);
    free(drop_text);
    cp_guardrails_free(drop);
    return CP_OK;
}

void cp_gr_cache_forget(cp_gr_cache *c, const char *project_id)
{
    if (!c || !project_id) return;
    cp_guardrails *drop = NULL;
    char *drop_text = NULL;
    slot *s = slot_of(c, project_id);
    pthread_mutex_lock(&c->mu);
    if (!strcmp(s->project_id, project_id)) slot_clear(s, &drop, &drop_text);
    pthread_mutex_unlock(&c->mu);
    free(drop_text);
    cp_guardrails_free(drop);
}

void cp_gr_cache_stats(cp_gr_cache *c, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&c->mu);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->mu);
}
