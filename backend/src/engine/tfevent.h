/* tfevent.h: the run events the engine emits, and the parser that turns one
 * line of `tofu ... -json` output (the machine-readable UI stream) into one.
 * Owns the event vocabulary shared with the worker and the API: tofu's types
 * it understands (version, log, planned_change, change_summary, apply_*,
 * diagnostic, outputs), everything else as a log line, and the engine's own
 * system events (phase start/end, lock recorded). Every string an event holds
 * has been through the redactor before anyone sees it. */
#ifndef CP_TFEVENT_H
#define CP_TFEVENT_H

#include <jansson.h>

#include "engine/redact.h"

typedef enum {
    CP_TFEV_LOG = 0,        /* a human line: tofu's @message, a non-JSON line, an unknown type */
    CP_TFEV_PLANNED_CHANGE, /* address, action */
    CP_TFEV_APPLY_START,    /* address, action */
    CP_TFEV_APPLY_PROGRESS, /* address, action, elapsed_seconds */
    CP_TFEV_APPLY_COMPLETE, /* address, action, elapsed_seconds */
    CP_TFEV_APPLY_ERRORED,  /* address, action, elapsed_seconds */
    CP_TFEV_DIAGNOSTIC,     /* severity, summary, detail, address */
    CP_TFEV_CHANGE_SUMMARY, /* add, change, destroy, operation */
    CP_TFEV_OUTPUTS,        /* data: {name: {value?, sensitive, type?, action?}} */
    CP_TFEV_PHASE_START,    /* phase; message */
    CP_TFEV_PHASE_END,      /* phase; ok; message (the error when !ok) */
    CP_TFEV_LOCK            /* lock_id, message (holder): the run's own state lock */
} cp_tfev_type;

typedef struct {
    cp_tfev_type type;
    const char *phase;     /* "init", "plan", "show", "apply", "output", "force-unlock" */
    const char *stream;    /* "stdout", "stderr" or "system" */
    const char *level;     /* "info", "warn", "error", ... (tofu's @level) */
    const char *message;   /* human text, never NULL */
    const char *tofu_type; /* tofu's "type" when it came from the JSON stream */
    const char *address;
    const char *action;
    double elapsed_seconds;
    const char *severity;
    const char *summary;
    const char *detail;
    const char *operation; /* change_summary: "plan", "apply", "destroy" */
    const char *lock_id;
    long add, change, destroy;
    bool ok;      /* phase end */
    json_t *data; /* outputs; borrowed, valid during the callback */
} cp_tfev;

typedef void (*cp_tfev_fn)(void *ctx, const cp_tfev *ev);

/* Stable lower-case name of a type ("log", "planned_change", ..., "lock"). */
const char *cp_tfev_type_name(cp_tfev_type t);

/* Parsed line; owns its strings and JSON. */
typedef struct {
    cp_tfev ev;
    json_t *json;  /* the redacted parsed line (NULL for plain text) */
    char *text;    /* the redacted raw line */
    char *version; /* tofu/terraform version from a "version" message */
} cp_tfev_parsed;

/* Redacts line, parses it and fills out. r may be NULL. Lines that are not a
 * JSON object, or have an unknown type, become CP_TFEV_LOG with the text. */
void cp_tfev_parse(const cp_redact *r, const char *line, size_t len, const char *stream, cp_tfev_parsed *out);
void cp_tfev_parsed_free(cp_tfev_parsed *p);

/* The event as JSON (type name and the fields that type carries), for
 * storage and SSE. Caller owns the result. */
json_t *cp_tfev_to_json(const cp_tfev *ev);

#endif
