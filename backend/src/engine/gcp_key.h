/* gcp_key.h: a GCP service-account key, rebuilt from the fields such a key
 * has. Google's auth library inside the provider sends signed requests to the
 * endpoints a key names (token_uri, universe_domain, ...), so a key that names
 * any address but Google's own could turn a run against internal services and
 * bring their answers into run logs. Only the allow-listed fields survive, and
 * every field that names an endpoint must hold Google's own value. */
#ifndef CP_GCP_KEY_H
#define CP_GCP_KEY_H

#include <jansson.h>

#include "core/error.h"

/* Parses text and returns the rebuilt key (caller owns it). On a malformed
 * key, or an endpoint field that is not Google's, NULL with CP_EUNPROC and
 * field "<field_prefix>" or "<field_prefix>.<name>" (field_prefix is the
 * request field that carried the key). Messages name fields, never values. */
json_t *cp_gcp_key_rebuild(const char *text, const char *field_prefix, cp_error *err) CP_MUST_CHECK;

#endif
