/* run_params.c: the one encoder and decoder of a run's parameters. */
#include "store/run_params.h"

#include <string.h>

char *cp_run_params_encode(const cp_run_params *p)
{
    json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:f}", "name", p->name, "region", p->region, "size",
                          p->size ? json_string(p->size) : json_null(), "config",
                          p->config ? json_incref(p->config) : json_object(), "monthly_cost_usd", p->monthly_cost_usd);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return text;
}

static const char *str_field(json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

void cp_run_params_decode(const char *text, cp_run_params *out)
{
    memset(out, 0, sizeof *out);
    out->doc = json_loads(text ? text : "{}", 0, NULL);
    out->name = str_field(out->doc, "name");
    out->region = str_field(out->doc, "region");
    out->size = str_field(out->doc, "size");
    out->config = json_object_get(out->doc, "config");
    out->monthly_cost_usd = json_number_value(json_object_get(out->doc, "monthly_cost_usd"));
    out->status_before = str_field(out->doc, CP_RUN_STATUS_BEFORE);
}

void cp_run_params_release(cp_run_params *p)
{
    json_decref(p->doc);
    memset(p, 0, sizeof *p);
}
