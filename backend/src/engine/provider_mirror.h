/* provider_mirror.h: where providers come from (ARCHITECTURE "Providers").
 * Owns the default filesystem mirror (the one scripts/install-provider.sh
 * fills) and `cloudplane admin providers mirror`, which fills a filesystem
 * mirror for every module's pinned providers with `tofu providers mirror`
 * and adds the locally built cloudplane/... providers from the default mirror. */
#ifndef CP_PROVIDER_MIRROR_H
#define CP_PROVIDER_MIRROR_H

#include <stddef.h>

#include "core/error.h"

/* ${CLOUDPLANE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudplane}/mirror
 * into out; true when that dir exists. */
bool cp_provider_default_mirror(char *out, size_t cap);

typedef struct {
    const char *tofu;                   /* absolute path of tofu */
    const char *modules_dir;            /* terraform/modules: every subdir is a module */
    const char *dest;                   /* the mirror dir to fill (created) */
    const char *const *platforms;       /* e.g. "linux_amd64"; NULL-terminated; none = this host's */
    const char *local_mirror;           /* where cloudplane/... providers are copied from; NULL = default */
    void (*progress)(const char *line); /* one line per step; may be NULL */
} cp_provider_mirror_spec;

/* Fills spec->dest. Modules whose providers are all cloudplane/... need no
 * registry; the others run `tofu providers mirror`. CP_ERR names the module
 * and the provider that could not be fetched. */
cp_result cp_provider_mirror_fill(const cp_provider_mirror_spec *spec, cp_error *err) CP_MUST_CHECK;

#endif
