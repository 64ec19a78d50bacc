#include "engine/tfevent.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static const char *const type_names[] = {
    [CP_TFEV_LOG] = "log",
    [CP_TFEV_PLANNED_CHANGE] = "planned_change",
    [CP_TFEV_APPLY_START] = "apply_start",
    [CP_TFEV_APPLY_PROGRESS] = "apply_progress",
    [CP_TFEV_APPLY_COMPLETE] = "apply_complete",
    [CP_TFEV_APPLY_ERRORED] = "apply_errored",
    [CP_TFEV_DIAGNOSTIC] = "diagnostic",
    [CP_TFEV_CHANGE_SUMMARY] = "change_summary",
    [CP_TFEV_OUTPUTS] = "outputs",
    [CP_TFEV_PHASE_START] = "phase_start",
    [CP_TFEV_PHASE_END] = "phase_end",
    [CP_TFEV_LOCK] = "lock",
};

const char *cp_tfev_type_name(cp_tfev_type t)
{
    return (size_t)t < CP_ARRAY_LEN(type_names) && type_names[t] ? type_names[t] : "log";
}

static const char *str_at(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* tofu names the same resource in "change" (planned_change) or "hook" (apply_*). */
static void fill_resource(cp_tfev *ev, json_t *holder)
{
    ev->address = str_at(json_object_get(holder, "resource"), "addr");
    ev->action = str_at(holder, "action");
    json_t *el = json_object_get(holder, "elapsed_seconds");
    if (json_is_number(el)) ev->elapsed_seconds = json_number_value(el);
}

void cp_tfev_parse(const cp_redact *r, const char *line, size_t len, const char *stream, cp_tfev_parsed *out)
{
    memset(out, 0, sizeof *out);
    cp_tfev *ev = &out->ev;
    size_t tlen;
    out->text = cp_redact_str(r, line, len, &tlen);
    ev->type = CP_TFEV_LOG;
    ev->stream = stream;
    ev->level = strcmp(stream, "stderr") == 0 ? "error" : "info";
    ev->message = out->text;

    if (tlen == 0 || out->text[0] != '{') return;
    json_t *j = json_loadb(out->text, tlen, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return;
    }
    /* The line was redacted as text; strings may also carry a secret in an
     * escaped form the text pass did not see (e.g. \u0026), so redact again
     * after decoding. */
    cp_redact_json(r, j);
    out->json = j;
    const char *type = str_at(j, "type");
    const char *msg = str_at(j, "@message");
    if (msg) ev->message = msg;
    if (str_at(j, "@level")) ev->level = str_at(j, "@level");
    ev->tofu_type = type;
    if (!type) return;

    if (strcmp(type, "version") == 0) {
        /* OpenTofu says "tofu", Terraform says "terraform". */
        const char *v = str_at(j, "tofu");
        if (!v) v = str_at(j, "terraform");
        if (v) out->version = cp_xstrdup(v);

    } else if (strcmp(type, "planned_change") == 0) {
        ev->type = CP_TFEV_PLANNED_CHANGE;
        fill_resource(ev, json_object_get(j, "change"));
    } else if (strcmp(type, "apply_start") == 0 || strcmp(type, "apply_progress") == 0 ||
               strcmp(type, "apply_complete") == 0 || strcmp(type, "apply_errored") == 0) {
        ev->type = type[6] == 's'   ? CP_TFEV_APPLY_START
                   : type[6] == 'p' ? CP_TFEV_APPLY_PROGRESS
                   : type[6] == 'c' ? CP_TFEV_APPLY_COMPLETE
                                    : CP_TFEV_APPLY_ERRORED;
        fill_resource(ev, json_object_get(j, "hook"));
    } else if (strcmp(type, "diagnostic") == 0) {
        json_t *d = json_object_get(j, "diagnostic");
        ev->type = CP_TFEV_DIAGNOSTIC;
        ev->severity = str_at(d, "severity");
        ev->summary = str_at(d, "summary");
        ev->detail = str_at(d, "detail");
        ev->address = str_at(d, "address");
        if (!ev->severity) ev->severity = "error";
        if (!ev->summary) ev->summary = ev->message;
    } else if (strcmp(type, "change_summary") == 0) {
        json_t *c = json_object_get(j, "changes");
        ev->type = CP_TFEV_CHANGE_SUMMARY;
        ev->add = (long)json_integer_value(json_object_get(c, "add"));
        ev->change = (long)json_integer_value(json_object_get(c, "change"));
        ev->destroy = (long)json_integer_value(json_object_get(c, "remove"));
        ev->operation = str_at(c, "operation");
    } else if (strcmp(type, "outputs") == 0 && json_is_object(json_object_get(j, "outputs"))) {
        ev->type = CP_TFEV_OUTPUTS;
        ev->data = json_object_get(j, "outputs");
    }
}

void cp_tfev_parsed_free(cp_tfev_parsed *p)
{
    json_decref(p->json);
    free(p->text);
    free(p->version);
    memset(p, 0, sizeof *p);
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v) json_object_set_new(o, k, json_string(v));
}

json_t *cp_tfev_to_json(const cp_tfev *ev)
{
    json_t *o = json_object();
    set_str(o, "type", cp_tfev_type_name(ev->type));
    set_str(o, "phase", ev->phase);
    set_str(o, "stream", ev->stream);
    set_str(o, "level", ev->level);
    set_str(o, "message", ev->message);
    switch (ev->type) {
    case CP_TFEV_PLANNED_CHANGE:
    case CP_TFEV_APPLY_START:
        set_str(o, "address", ev->address);
        set_str(o, "action", ev->action);
        break;
    case CP_TFEV_APPLY_PROGRESS:
    case CP_TFEV_APPLY_COMPLETE:
    case CP_TFEV_APPLY_ERRORED:
        set_str(o, "address", ev->address);
        set_str(o, "action", ev->action);
        json_object_set_new(o, "elapsed_seconds", json_real(ev->elapsed_seconds));
        break;
    case CP_TFEV_DIAGNOSTIC:
        set_str(o, "severity", ev->severity);
        set_str(o, "summary", ev->summary);
        set_str(o, "detail", ev->detail);
        set_str(o, "address", ev->address);
        break;
    case CP_TFEV_CHANGE_SUMMARY:
        json_object_set_new(o, "add", json_integer(ev->add));
        json_object_set_new(o, "change", json_integer(ev->change));
        json_object_set_new(o, "destroy", json_integer(ev->destroy));
        set_str(o, "operation", ev->operation);
        break;
    case CP_TFEV_OUTPUTS:
        if (ev->data) json_object_set(o, "outputs", ev->data);
        break;
    case CP_TFEV_PHASE_END:
        json_object_set_new(o, "ok", json_boolean(ev->ok));
        break;
    case CP_TFEV_LOCK:
        set_str(o, "lock_id", ev->lock_id);
        break;
    default:
        set_str(o, "tofu_type", ev->tofu_type);
        break;
    }
    return o;
}
