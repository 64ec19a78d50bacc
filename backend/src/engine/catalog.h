/* catalog.h: the resource types the platform offers, loaded once from the
 * embedded data/catalog.json. It is the one place that knows, for each cloud
 * and kind (vm|storage): the OpenTofu module, the name rule, the regions, the
 * sizes and prices, the credential fields of a cloud account (their rules and
 * where each goes: child env or tfvars extra), the config keys a user may set,
 * and how all of that maps onto the module's variables (terraform.tfvars.json).
 * Everything here is read-only after the first call and safe from any thread. */
#ifndef CP_CATALOG_H
#define CP_CATALOG_H

#include <jansson.h>
#include <stddef.h>

#include "core/error.h"

/* Loads and checks the catalog (also done lazily by every other call).
 * CP_ERR only if the embedded file is broken, which is a build defect. */
cp_result cp_catalog_init(cp_error *err) CP_MUST_CHECK;

/* How a credential field is entered in the web form. */
typedef enum { CP_CRED_TEXT, CP_CRED_PASSWORD, CP_CRED_FILE } cp_cred_input;

/* One credential field of a cloud account, as data/catalog.json declares it.
 * Strings are static storage; optional ones are NULL when absent. */
typedef struct {
    const char *name;        /* key in the account's credentials object */
    const char *label;       /* form label */
    const char *env;         /* child env var it becomes, or NULL */
    const char *tfvar;       /* tfvars "extra" key it becomes, or NULL */
    const char *pattern;     /* POSIX ERE the value must match, or NULL */
    const char *rule;        /* the pattern in words ("a UUID"); set iff pattern is */
    const char *placeholder; /* form placeholder, or NULL */
    bool required;
    bool secret;     /* never displayed back */
    bool generated;  /* may be left empty: the platform makes one (only the sandbox's api_key) */
    size_t min, max; /* length bounds in bytes */
    cp_cred_input input;
} cp_cred_field;

/* The document served at GET /api/v1/catalog: {version, clouds:[{id, name,
 * simulated, credentials:[{name, label, required, secret, generated, min, max,
 * pattern?, rule?, placeholder?, input}], kinds:[{id, label, stoppable, not_stoppable_reason?,
 * stopped_price_basis? (vm), module, name_rule{pattern,min,max,description},
 * regions[{id,name}], sizes[{id,vcpu,memory_gib,hourly_usd,stopped_monthly_cost_usd,
 * stopped_source,source,retrieved,price_region}] (vm) | gb_month_usd, source, retrieved, price_region (storage)}]}]}.
 * A credential's env and tfvar are internal and left out. Caller owns the reference. */
json_t *cp_catalog_json(void);

/* Module directory name (e.g. "sandbox_vm"); NULL if unknown. Static storage. */
const char *cp_catalog_module(const char *cloud, const char *kind);
/* True for the simulated sandbox cloud. */
bool cp_catalog_simulated(const char *cloud);
/* The cloud a module belongs to ("sandbox"); NULL if unknown. Static storage. */
const char *cp_catalog_module_cloud(const char *module);
/* True if module belongs to a simulated cloud; false for real clouds and unknown modules. */
bool cp_catalog_module_simulated(const char *module);
/* The credential fields of a cloud, in catalog order. Sets *n; static storage;
 * NULL with *n = 0 for an unknown cloud. */
const cp_cred_field *cp_catalog_credentials(const char *cloud, size_t *n);
/* True if value matches f's pattern (always true without one). f must come
 * from cp_catalog_credentials. */
bool cp_catalog_credential_matches(const cp_cred_field *f, const char *value);
/* Env var names a cloud account of this cloud supplies (AWS_ACCESS_KEY_ID, ...),
 * derived from its credential fields. Sets *n; static storage; NULL with *n = 0
 * for an unknown cloud. */
const char *const *cp_catalog_credential_env(const char *cloud, size_t *n);

/* Workload identity (engine/identity.h uses these). The fields an account of
 * kind workload_identity stores for this cloud (never secret: a role to
 * assume, a tenant, a provider), in catalog order; NULL with *n = 0 for a
 * cloud without workload identity (the sandbox). Static storage. */
const cp_cred_field *cp_catalog_identity_fields(const char *cloud, size_t *n);
/* The cloud's "workload_identity" object of data/catalog.json, borrowed
 * (read-only): {default_audience, fields, env?, token_file_env?,
 * credentials_file?{env, template}}; NULL for a cloud without one. */
json_t *cp_catalog_identity(const char *cloud);
/* Every env name a workload identity account of cloud sets (its fields', the
 * token file's or credentials file's, the constant ones). Static storage. */
const char *const *cp_catalog_identity_env_names(const char *cloud, size_t *n);
/* The audience a token gets when the account sets none; may name a field as
 * {field} (GCP: the provider's resource). NULL for a cloud without one. */
const char *cp_catalog_identity_audience(const char *cloud);

/* True for a VM kind the module can stop and start (config.power_state);
 * else false with *why (if why) saying why not. Static storage. */
bool cp_catalog_stoppable(const char *cloud, const char *kind, const char **why);

/* Checks a resource order before anything runs. config may be NULL (= {}).
 * - unknown cloud/kind, rule failures: CP_EUNPROC, field "cloud", "kind",
 *   "name", "region", "size", "config.<key>", message naming the rule;
 * - config not an object, or a key this kind does not take: CP_EINVAL with
 *   field "config" / "config.<key>".
 * vm config: ssh_public_key (required), allowed_cidrs (<= 20 IPv4 networks),
 *   power_state (running | stopped; stopped only where the kind is stoppable).
 * every kind: tags (<= 40 string values; not the modules' own keys).
 * storage config: expected_gb (1..1000000, default 100), public (bool, default false).
 * sandbox kinds also take simulate_seconds (0..600) and simulate_failure (bool). */
cp_result cp_catalog_validate(const char *cloud, const char *kind, const char *name, const char *region,
                              const char *size, json_t *config, cp_error *err) CP_MUST_CHECK;

/* Estimated monthly cost in USD: hourly price x 730 for a running vm, the
 * size's stopped_monthly_cost_usd for a stopped one, gb_month price x
 * expected_gb (default 100) for storage. -1 if cloud/kind/size is unknown.
 * Call after cp_catalog_validate. */
double cp_catalog_monthly_cost(const char *cloud, const char *kind, const char *size, json_t *config);

/* terraform.tfvars.json for the module of cloud/kind, with every variable the
 * module declares set explicitly. extra holds deployment values that are not
 * user input: "project_id" (required for gcp). Validates first (same errors as
 * cp_catalog_validate; a missing gcp project_id is CP_EUNPROC field
 * "project_id"). resource_id must be a platform id. Caller owns the result. */
json_t *cp_catalog_tfvars(const char *resource_id, const char *cloud, const char *kind, const char *name,
                          const char *region, const char *size, json_t *config, json_t *extra, cp_error *err);

/* Guardrails (engine/guardrails.c). The vCPUs of a VM size (0 if unknown). */
int cp_catalog_size_vcpu(const char *cloud, const char *kind, const char *size);
/* Whether any kind of cloud offers region / whether its VMs come in size. */
bool cp_catalog_region_known(const char *cloud, const char *region);
bool cp_catalog_size_known(const char *cloud, const char *size);
/* Which planned attribute values make a storage kind public: an array of
 * {type, path, value} (the resource type in the plan, the attribute, and the
 * value that opens it), borrowed; NULL for kinds that cannot be public. */
json_t *cp_catalog_public_when(const char *cloud, const char *kind);

/* Drift: whether a drifted attribute path ("tags.owner", as cp_drift_changes
 * names it) of cloud/kind may be adopted into the ordered configuration
 * (the user's tags; never the tags the modules set themselves). */
bool cp_catalog_drift_adoptable(const char *cloud, const char *kind, const char *path);
/* Adopts the cloud's value (after; null: the key went) of path into config
 * (an object, changed in place). CP_EUNPROC not_acceptable for a path that
 * is not adoptable. */
cp_result cp_catalog_drift_adopt(const char *cloud, const char *kind, json_t *config, const char *path, json_t *after,
                                 cp_error *err) CP_MUST_CHECK;

#endif
