/* drift.h: what drifted, read from a refresh-only plan (`tofu show -json`
 * of `plan -refresh-only`): its resource_drift entries become
 * [{address, action ("update"|"delete"), attributes:[{path, before, after}]}].
 * Paths name attributes and map keys ("size", "tags.owner"); lists and
 * sets are compared whole. A value the plan marks sensitive (before_ or
 * after_sensitive, at its path or above) is "***". An object the provider
 * removed from state (gone from the cloud) is a "delete" with no attributes. */
#ifndef CP_DRIFT_H
#define CP_DRIFT_H

#include <jansson.h>
#include <stdbool.h>

/* The changes of plan (the show -json document; borrowed). *missing: some
 * object is gone. Caller owns the result (an array; empty when in sync). */
json_t *cp_drift_changes(json_t *plan, bool *missing);

#endif
