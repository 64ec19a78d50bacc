#include "engine/catalog.h"

#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <string.h>
#include <strings.h>

#include "core/embed.h"
#include "core/json.h"

#define MAX_CLOUDS 8
#define MAX_KINDS 16
#define MAX_CREDS 8
#define HOURS_PER_MONTH 730.0
#define DEFAULT_EXPECTED_GB 100.0
#define SSH_KEY_MAX 8192
#define MAX_CIDRS 20
#define MAX_TAGS 40

typedef struct {
    const char *id;
    bool simulated;
    cp_cred_field creds[MAX_CREDS];
    regex_t cred_re[MAX_CREDS]; /* compiled creds[i].pattern, if any */
    size_t n_creds;
    const char *cred_env[MAX_CREDS + 1];
    size_t n_cred_env;
    /* Workload identity: what a token-based account stores (no secret). */
    json_t *wi; /* the cloud's "workload_identity" object, NULL if it has none */
    cp_cred_field wi_fields[MAX_CREDS];
    regex_t wi_re[MAX_CREDS];
    size_t n_wi;
    const char *wi_env[2 * MAX_CREDS + 1]; /* every env name an identity account sets */
    size_t n_wi_env;
} cloud_ent;

typedef struct {
    const cloud_ent *cloud;
    const char *kind; /* "vm" | "storage" */
    const char *module;
    json_t *obj; /* the kind object inside the catalog document */
    regex_t name_re;
    size_t name_min, name_max;
    const char *name_desc;
    bool stoppable;            /* a VM the module can stop and start (power_state) */
    const char *not_stoppable; /* why not, for a VM kind that cannot; NULL otherwise */
} kind_ent;

static struct {
    json_t *doc;
    cloud_ent clouds[MAX_CLOUDS];
    size_t n_clouds;
    kind_ent kinds[MAX_KINDS];
    size_t n_kinds;
    regex_t ssh_re_all;   /* ed25519, rsa, ecdsa-p256 */
    regex_t ssh_re_azure; /* Azure takes no ECDSA keys */
    regex_t cidr_re;
    regex_t project_re;
    bool ok;
    char why[160];
} cat;

static pthread_once_t cat_once = PTHREAD_ONCE_INIT;

/* The same patterns as the modules' validation blocks, in POSIX ERE. */
#define SSH_PREFIX_ALL                                                                                                 \
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5|ssh-rsa AAAAB3NzaC1yc2E|ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY"
#define SSH_PREFIX_AZURE "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5|ssh-rsa AAAAB3NzaC1yc2E"
#define SSH_TAIL ")[A-Za-z0-9+/]+={0,3}( [ -~]*)?$"

static void load_fail(const char *why)
{
    snprintf(cat.why, sizeof cat.why, "%s", why);
    cat.ok = false;
}

/* A string member, or NULL if absent; *bad set if present but not a non-empty string. */
static const char *opt_str(json_t *o, const char *key, bool *bad)
{
    json_t *v = json_object_get(o, key);
    if (!v) return NULL;
    if (!json_is_string(v) || json_string_length(v) == 0) *bad = true;
    return json_string_value(v);
}

static bool env_name_ok(const char *s)
{
    if (!s) return true;
    if (!(*s >= 'A' && *s <= 'Z')) return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_')) return false;
    return true;
}

/* Loads one cloud's "credentials" array (or its workload identity's
 * "fields") into fs/res/n, their env names into envs/n_env; NULL or why it is
 * wrong. */
static const char *load_fields(json_t *arr, bool simulated, cp_cred_field *fs, regex_t *res, size_t *nf,
                               const char **envs, size_t *n_env)
{
    static const char *const inputs[] = {
        [CP_CRED_TEXT] = "text", [CP_CRED_PASSWORD] = "password", [CP_CRED_FILE] = "file"};
    if (!json_is_array(arr)) return "cloud without credentials array";
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        if (*nf == MAX_CREDS) return "too many credential fields";
        cp_cred_field *f = &fs[*nf];
        bool bad = !json_is_object(o);
        f->name = opt_str(o, "name", &bad);
        f->label = opt_str(o, "label", &bad);
        f->env = opt_str(o, "env", &bad);
        f->tfvar = opt_str(o, "tfvar", &bad);
        f->pattern = opt_str(o, "pattern", &bad);
        f->rule = opt_str(o, "rule", &bad);
        f->placeholder = opt_str(o, "placeholder", &bad);
        json_t *req = json_object_get(o, "required"), *sec = json_object_get(o, "secret");
        json_t *gen = json_object_get(o, "generated");
        json_t *mn = json_object_get(o, "min"), *mx = json_object_get(o, "max");
        const char *input = opt_str(o, "input", &bad);
        if (bad || !f->name || !f->label || !input || !json_is_boolean(req) || !json_is_boolean(sec) ||
            !json_is_integer(mn) || !json_is_integer(mx) || json_integer_value(mn) < 0 ||
            json_integer_value(mx) < json_integer_value(mn) || json_integer_value(mx) == 0)
            return "credential field without name, label, input, required, secret or min/max";
        if (!f->pattern != !f->rule) return "credential pattern and rule come together";
        if (gen && !json_is_boolean(gen)) return "credential generated must be a boolean";
        f->generated = json_is_true(gen);
        /* Only a cloud the platform runs can have a value made up for it. */
        if (f->generated && (!simulated || json_is_true(req)))
            return "only optional fields of the simulated cloud are generated";
        if (!env_name_ok(f->env)) return "credential env is not an env var name";
        f->required = json_is_true(req);
        f->secret = json_is_true(sec);
        f->min = (size_t)json_integer_value(mn);
        f->max = (size_t)json_integer_value(mx);
        bool known = false;
        for (size_t k = 0; k < CP_ARRAY_LEN(inputs) && !known; k++)
            if (strcmp(inputs[k], input) == 0) f->input = (cp_cred_input)k, known = true;
        if (!known) return "credential input must be text, password or file";
        for (size_t k = 0; k < *nf; k++)
            if (strcmp(fs[k].name, f->name) == 0) return "duplicate credential field";
        if (f->pattern && regcomp(&res[*nf], f->pattern, REG_EXTENDED | REG_NOSUB) != 0)
            return "credential pattern does not compile";
        if (f->env) envs[(*n_env)++] = f->env;
        (*nf)++;
    }
    return NULL;
}

/* A cloud's "workload_identity": {default_audience, fields, env?,
 * token_file_env?, credentials_file?{env, template}} (engine/identity.c
 * reads it); NULL or why it is wrong. */
static const char *load_identity(cloud_ent *ce, json_t *wi)
{
    if (!wi) return NULL;
    if (!json_is_object(wi) || !json_is_string(json_object_get(wi, "default_audience")))
        return "workload_identity without default_audience";
    const char *why = load_fields(json_object_get(wi, "fields"), false, ce->wi_fields, ce->wi_re, &ce->n_wi, ce->wi_env,
                                  &ce->n_wi_env);
    if (why) return why;
    for (size_t i = 0; i < ce->n_wi; i++)
        if (ce->wi_fields[i].secret) return "a workload identity field is never secret";
    const char *tf = json_string_value(json_object_get(wi, "token_file_env"));
    json_t *cf = json_object_get(wi, "credentials_file");
    const char *cf_env = json_string_value(json_object_get(cf, "env"));
    if (!tf == !cf_env) return "workload_identity needs token_file_env or credentials_file (one)";
    if (cf && !json_is_object(json_object_get(cf, "template"))) return "credentials_file without template";
    if (!env_name_ok(tf) || !env_name_ok(cf_env)) return "workload_identity env is not an env var name";
    ce->wi_env[ce->n_wi_env++] = tf ? tf : cf_env;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(wi, "env"), k, v)
    {
        if (!env_name_ok(k) || !json_is_string(v) || ce->n_wi_env >= 2 * MAX_CREDS) return "bad workload_identity env";
        ce->wi_env[ce->n_wi_env++] = k;
    }
    ce->wi = wi;
    return NULL;
}

static void load(void)
{
    const cp_embedded_file *f = cp_embed_get("data/catalog.json");
    if (!f) return load_fail("data/catalog.json is not embedded");
    json_error_t je;
    cat.doc = json_loadb((const char *)f->data, f->len, JSON_REJECT_DUPLICATES, &je);
    if (!cat.doc) return load_fail("data/catalog.json does not parse");
    if (regcomp(&cat.ssh_re_all, "^(" SSH_PREFIX_ALL SSH_TAIL, REG_EXTENDED | REG_NOSUB) != 0 ||
        regcomp(&cat.ssh_re_azure, "^(" SSH_PREFIX_AZURE SSH_TAIL, REG_EXTENDED | REG_NOSUB) != 0 ||
        regcomp(&cat.cidr_re, "^[0-9]{1,3}([.][0-9]{1,3}){3}/[0-9]{1,2}$", REG_EXTENDED | REG_NOSUB) != 0 ||
        regcomp(&cat.project_re, "^[a-z][a-z0-9-]{4,28}[a-z0-9]$", REG_EXTENDED | REG_NOSUB) != 0)
        return load_fail("built-in patterns do not compile");

    size_t ci;
    json_t *c;
    json_array_foreach(json_object_get(cat.doc, "clouds"), ci, c)
    {
        if (cat.n_clouds == MAX_CLOUDS) return load_fail("too many clouds");
        cloud_ent *ce = &cat.clouds[cat.n_clouds++];
        ce->id = json_string_value(json_object_get(c, "id"));
        ce->simulated = json_is_true(json_object_get(c, "simulated"));
        if (!ce->id) return load_fail("cloud without id");
        const char *why = load_fields(json_object_get(c, "credentials"), ce->simulated, ce->creds, ce->cred_re,
                                      &ce->n_creds, ce->cred_env, &ce->n_cred_env);
        if (!why) why = load_identity(ce, json_object_get(c, "workload_identity"));
        if (why) return load_fail(why);
        if (!ce->simulated && ce->n_creds == 0) return load_fail("a real cloud needs credential fields");
        size_t ki;
        json_t *k;
        json_array_foreach(json_object_get(c, "kinds"), ki, k)
        {
            if (cat.n_kinds == MAX_KINDS) return load_fail("too many kinds");
            kind_ent *ke = &cat.kinds[cat.n_kinds];
            json_t *rule = json_object_get(k, "name_rule");
            ke->cloud = ce;
            ke->kind = json_string_value(json_object_get(k, "id"));
            ke->module = json_string_value(json_object_get(k, "module"));
            ke->obj = k;
            ke->name_min = (size_t)json_integer_value(json_object_get(rule, "min"));
            ke->name_max = (size_t)json_integer_value(json_object_get(rule, "max"));
            ke->name_desc = json_string_value(json_object_get(rule, "description"));
            const char *pat = json_string_value(json_object_get(rule, "pattern"));
            if (!ke->kind || !ke->module || !pat || !ke->name_desc || ke->name_max == 0)
                return load_fail("kind without id, module or name_rule");
            if (regcomp(&ke->name_re, pat, REG_EXTENDED | REG_NOSUB) != 0)
                return load_fail("name pattern does not compile");
            ke->stoppable = json_is_true(json_object_get(k, "stoppable"));
            ke->not_stoppable = json_string_value(json_object_get(k, "not_stoppable_reason"));
            if (!json_is_boolean(json_object_get(k, "stoppable"))) return load_fail("kind without stoppable");
            if (strcmp(ke->kind, "vm") == 0) {
                if (!ke->stoppable && !ke->not_stoppable) return load_fail("a VM kind that cannot stop says why");
                size_t si;
                json_t *sz;
                json_array_foreach(json_object_get(k, "sizes"), si, sz) if (
                    !json_is_number(json_object_get(
                        sz, "stopped_monthly_cost_usd"))) return load_fail("size without stopped price");
            }
            cat.n_kinds++;
        }
    }
    cat.ok = cat.n_kinds > 0;
    if (!cat.ok) load_fail("catalog has no kinds");
}

cp_result cp_catalog_init(cp_error *err)
{
    pthread_once(&cat_once, load);
    if (!cat.ok) return cp_error_set(err, CP_ERR, "catalog", NULL, "catalog unusable: %s", cat.why);
    return CP_OK;
}

static const cloud_ent *find_cloud(const char *cloud)
{
    if (cp_catalog_init(NULL) != CP_OK || !cloud) return NULL;
    for (size_t i = 0; i < cat.n_clouds; i++)
        if (strcmp(cat.clouds[i].id, cloud) == 0) return &cat.clouds[i];
    return NULL;
}

static const kind_ent *find_kind(const char *cloud, const char *kind)
{
    if (cp_catalog_init(NULL) != CP_OK || !cloud || !kind) return NULL;
    for (size_t i = 0; i < cat.n_kinds; i++)
        if (strcmp(cat.kinds[i].cloud->id, cloud) == 0 && strcmp(cat.kinds[i].kind, kind) == 0) return &cat.kinds[i];
    return NULL;
}

json_t *cp_catalog_json(void)
{
    if (cp_catalog_init(NULL) != CP_OK) return NULL;
    json_t *out = json_deep_copy(cat.doc);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(out, "clouds"), i, c)
    {
        size_t j;
        json_t *f;
        json_array_foreach(json_object_get(c, "credentials"), j, f)
        {
            json_object_del(f, "env");
            json_object_del(f, "tfvar");
            json_object_set_new(f, "generated", json_boolean(json_is_true(json_object_get(f, "generated"))));
        }
        json_t *wi = json_object_get(c, "workload_identity");
        json_array_foreach(json_object_get(wi, "fields"), j, f)
        {
            json_object_del(f, "env");
            json_object_del(f, "tfvar");
            json_object_set_new(f, "generated", json_false());
        }
        /* How the token reaches the provider is the runner's business. */
        json_object_del(wi, "env");
        json_object_del(wi, "token_file_env");
        json_object_del(wi, "credentials_file");
        json_t *k;
        json_array_foreach(json_object_get(c, "kinds"), j, k) json_object_del(k, "public_when"); /* internal */
    }
    return out;
}

const char *cp_catalog_module(const char *cloud, const char *kind)
{
    const kind_ent *k = find_kind(cloud, kind);
    return k ? k->module : NULL;
}

bool cp_catalog_simulated(const char *cloud)
{
    const cloud_ent *c = find_cloud(cloud);
    return c && c->simulated;
}

const char *cp_catalog_module_cloud(const char *module)
{
    if (cp_catalog_init(NULL) != CP_OK || !module) return NULL;
    for (size_t i = 0; i < cat.n_kinds; i++)
        if (strcmp(cat.kinds[i].module, module) == 0) return cat.kinds[i].cloud->id;
    return NULL;
}

bool cp_catalog_module_simulated(const char *module)
{
    if (cp_catalog_init(NULL) != CP_OK || !module) return false;
    for (size_t i = 0; i < cat.n_kinds; i++)
        if (strcmp(cat.kinds[i].module, module) == 0) return cat.kinds[i].cloud->simulated;
    return false;
}

const cp_cred_field *cp_catalog_credentials(const char *cloud, size_t *n)
{
    const cloud_ent *c = find_cloud(cloud);
    *n = c ? c->n_creds : 0;
    return c ? c->creds : NULL;
}

bool cp_catalog_credential_matches(const cp_cred_field *f, const char *value)
{
    if (!f->pattern) return true;
    for (size_t i = 0; i < cat.n_clouds; i++) {
        const cloud_ent *c = &cat.clouds[i];
        if (f >= c->creds && f < c->creds + c->n_creds)
            return regexec(&c->cred_re[f - c->creds], value, 0, NULL, 0) == 0;
        if (f >= c->wi_fields && f < c->wi_fields + c->n_wi)
            return regexec(&c->wi_re[f - c->wi_fields], value, 0, NULL, 0) == 0;
    }
    return false;
}

const char *const *cp_catalog_credential_env(const char *cloud, size_t *n)
{
    const cloud_ent *c = find_cloud(cloud);
    *n = c ? c->n_cred_env : 0;
    return c ? c->cred_env : NULL;
}

const cp_cred_field *cp_catalog_identity_fields(const char *cloud, size_t *n)
{
    const cloud_ent *c = find_cloud(cloud);
    *n = c && c->wi ? c->n_wi : 0;
    return c && c->wi ? c->wi_fields : NULL;
}

json_t *cp_catalog_identity(const char *cloud)
{
    const cloud_ent *c = find_cloud(cloud);
    return c ? c->wi : NULL;
}

const char *const *cp_catalog_identity_env_names(const char *cloud, size_t *n)
{
    const cloud_ent *c = find_cloud(cloud);
    *n = c ? c->n_wi_env : 0;
    return c ? c->wi_env : NULL;
}

const char *cp_catalog_identity_audience(const char *cloud)
{
    return json_string_value(json_object_get(cp_catalog_identity(cloud), "default_audience"));
}

/* ---------------------------------------------------------------- validation */

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool has_suffix(const char *s, const char *x)
{
    size_t ls = strlen(s), lx = strlen(x);
    return ls >= lx && strcmp(s + ls - lx, x) == 0;
}

/* Name rules the modules enforce beyond the pattern. */
static const char *name_extra_rule(const kind_ent *k, const char *name)
{
    if (strcmp(k->module, "aws_s3") == 0 || strcmp(k->module, "sandbox_storage") == 0) {
        static const char *const pre[] = {"xn--", "sthree-", "amzn-s3-demo-"};
        static const char *const suf[] = {"-s3alias", "--ol-s3", "--x-s3"};
        for (size_t i = 0; i < CP_ARRAY_LEN(pre); i++)
            if (has_prefix(name, pre[i])) return "name must not start with xn--, sthree- or amzn-s3-demo-";
        for (size_t i = 0; i < CP_ARRAY_LEN(suf); i++)
            if (has_suffix(name, suf[i])) return "name must not end with -s3alias, --ol-s3 or --x-s3";
    }
    if (strcmp(k->module, "gcp_storage") == 0 && (has_prefix(name, "goog") || strstr(name, "google")))
        return "name must not start with goog nor contain google";
    return NULL;
}

/* A JSON string without embedded NULs (regexec stops at the first one). */
static bool clean_string(json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

static bool in_list(json_t *arr, const char *id)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0) return true;
    return false;
}

/* "a, b, c" of the ids in arr. */
static void list_ids(json_t *arr, char *out, size_t cap)
{
    size_t i, used = 0;
    json_t *e;
    out[0] = '\0';
    json_array_foreach(arr, i, e)
    {
        int n = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", json_string_value(json_object_get(e, "id")));
        if (n < 0 || (size_t)n >= cap - used) break;
        used += (size_t)n;
    }
}

static json_t *find_size(const kind_ent *k, const char *size)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(k->obj, "sizes"), i,
                       e) if (size && strcmp(json_string_value(json_object_get(e, "id")), size) == 0) return e;
    return NULL;
}

/* Parses a decimal octet/prefix without leading zeros (Go's ParseCIDR, which
 * the module's cidrhost() uses, rejects them too). */
static bool parse_dec(const char *s, size_t len, unsigned max, unsigned *out)
{
    if (len == 0 || len > 3 || (len > 1 && s[0] == '0')) return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) v = v * 10 + (unsigned)(s[i] - '0');
    if (v > max) return false;
    *out = v;
    return true;
}

/* 0 ok, 1 malformed, 2 host bits set. Assumes cidr_re matched. */
static int check_cidr(const char *c)
{
    uint32_t addr = 0;
    const char *p = c;
    for (int i = 0; i < 4; i++) {
        size_t n = strspn(p, "0123456789");
        unsigned o;
        if (!parse_dec(p, n, 255, &o)) return 1;
        addr = (addr << 8) | o;
        p += n + 1; /* skips '.' or '/' */
    }
    unsigned prefix;
    if (!parse_dec(p, strlen(p), 32, &prefix)) return 1;
    uint32_t mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
    return (addr & ~mask) ? 2 : 0;
}

static cp_result check_vm_config(const kind_ent *k, json_t *config, cp_error *err)
{
    json_t *key = json_object_get(config, "ssh_public_key");
    if (!key || json_is_null(key))
        return cp_error_set(err, CP_EUNPROC, "missing_field", "config.ssh_public_key",
                            "config.ssh_public_key is required");
    bool azure = strcmp(k->cloud->id, "azure") == 0;
    if (!clean_string(key) || json_string_length(key) > SSH_KEY_MAX ||
        regexec(azure ? &cat.ssh_re_azure : &cat.ssh_re_all, json_string_value(key), 0, NULL, 0) != 0)
        return cp_error_set(
            err, CP_EUNPROC, "invalid_ssh_key", "config.ssh_public_key",
            "config.ssh_public_key must be a single-line OpenSSH public key of type %s (at most %d characters)",
            azure ? "ssh-ed25519 or ssh-rsa (Azure takes no ECDSA keys)"
                  : "ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp256",
            SSH_KEY_MAX);

    json_t *cidrs = json_object_get(config, "allowed_cidrs");
    if (!cidrs || json_is_null(cidrs)) return CP_OK;
    if (!json_is_array(cidrs) || json_array_size(cidrs) > MAX_CIDRS)
        return cp_error_set(err, CP_EUNPROC, "invalid_cidrs", "config.allowed_cidrs",
                            "config.allowed_cidrs must be an array of at most %d IPv4 CIDR blocks, e.g. 203.0.113.0/24",
                            MAX_CIDRS);
    size_t i;
    json_t *c;
    json_array_foreach(cidrs, i, c)
    {
        int rc = 1;
        if (clean_string(c) && regexec(&cat.cidr_re, json_string_value(c), 0, NULL, 0) == 0)
            rc = check_cidr(json_string_value(c));
        if (rc == 1)
            return cp_error_set(err, CP_EUNPROC, "invalid_cidr", "config.allowed_cidrs",
                                "config.allowed_cidrs[%zu] must be a valid IPv4 CIDR block, e.g. 203.0.113.0/24", i);
        if (rc == 2)
            return cp_error_set(err, CP_EUNPROC, "invalid_cidr", "config.allowed_cidrs",
                                "config.allowed_cidrs[%zu] must be a network address (host bits zero), e.g. "
                                "203.0.113.0/24 rather than 203.0.113.7/24",
                                i);
    }
    return CP_OK;
}

/* The tags every module sets itself (they win over the user's). */
static const char *const own_tags[] = {"Name", "managed-by", "cloudplane-resource-id"};

static bool own_tag(const char *key)
{
    for (size_t i = 0; i < CP_ARRAY_LEN(own_tags); i++)
        if (strcmp(own_tags[i], key) == 0) return true;
    return false;
}

/* config.tags: the user's extra tags (labels on GCP), as the modules take them. */
static cp_result check_tags(json_t *tags, cp_error *err)
{
    if (!tags || json_is_null(tags)) return CP_OK;
    if (!json_is_object(tags) || json_object_size(tags) > MAX_TAGS)
        return cp_error_set(err, CP_EUNPROC, "invalid_tags", "config.tags",
                            "config.tags must be an object of at most %d string values", MAX_TAGS);
    const char *key;
    json_t *v;
    json_object_foreach(tags, key, v)
    {
        size_t kl = cp_utf8_len(key, strlen(key));
        if (kl < 1 || kl > 128 || !clean_string(v) || cp_utf8_len(json_string_value(v), json_string_length(v)) > 256 ||
            own_tag(key) || strncasecmp(key, "aws:", 4) == 0)
            return cp_error_set(err, CP_EUNPROC, "invalid_tags", "config.tags",
                                "config.tags: keys 1-128 characters (not Name, managed-by, cloudplane-resource-id "
                                "or aws:...), values strings of up to 256 characters");
    }
    return CP_OK;
}

static cp_result check_config(const kind_ent *k, json_t *config, cp_error *err)
{
    if (!config || json_is_null(config))
        config = NULL;
    else if (!json_is_object(config))
        return cp_error_set(err, CP_EINVAL, "bad_request", "config", "config must be a JSON object");

    bool vm = strcmp(k->kind, "vm") == 0;
    static const char *const vm_keys[] = {"ssh_public_key", "allowed_cidrs", "power_state", "tags"};
    static const char *const storage_keys[] = {"expected_gb", "tags", "public"};
    static const char *const sandbox_keys[] = {"simulate_seconds", "simulate_failure"};
    const char *key;
    json_t *v;
    json_object_foreach(config, key, v)
    {
        bool known = false;
        const char *const *keys = vm ? vm_keys : storage_keys;
        size_t n = vm ? CP_ARRAY_LEN(vm_keys) : CP_ARRAY_LEN(storage_keys);
        for (size_t i = 0; i < n && !known; i++) known = strcmp(keys[i], key) == 0;
        for (size_t i = 0; k->cloud->simulated && i < CP_ARRAY_LEN(sandbox_keys) && !known; i++)
            known = strcmp(sandbox_keys[i], key) == 0;
        if (!known) {
            char field[64];
            snprintf(field, sizeof field, "config.%.48s", key);
            return cp_error_set(err, CP_EINVAL, "unknown_field", field, "unknown field '%s' for a %s %s", field,
                                k->cloud->id, k->kind);
        }
    }

    cp_result tr = check_tags(json_object_get(config, "tags"), err);
    if (tr != CP_OK) return tr;
    if (vm) {
        cp_result r = check_vm_config(k, config, err);
        if (r != CP_OK) return r;
        v = json_object_get(config, "power_state");
        const char *ps = json_string_value(v);
        if (v && !json_is_null(v) && (!ps || (strcmp(ps, "running") != 0 && strcmp(ps, "stopped") != 0)))
            return cp_error_set(err, CP_EUNPROC, "invalid_power_state", "config.power_state",
                                "config.power_state must be running or stopped");
        if (ps && strcmp(ps, "stopped") == 0 && !k->stoppable)
            return cp_error_set(err, CP_EUNPROC, "not_stoppable", "config.power_state", "%s VMs cannot be stopped: %s",
                                k->cloud->id, k->not_stoppable);
    } else {
        v = json_object_get(config, "expected_gb");
        if (v && !json_is_null(v) &&
            (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 1 ||
             json_number_value(v) > 1000000))
            return cp_error_set(err, CP_EUNPROC, "out_of_range", "config.expected_gb",
                                "config.expected_gb must be a number from 1 to 1000000");
        v = json_object_get(config, "public");
        if (v && !json_is_null(v) && !json_is_boolean(v))
            return cp_error_set(err, CP_EUNPROC, "invalid_type", "config.public", "config.public must be a boolean");
    }
    if (k->cloud->simulated) {
        v = json_object_get(config, "simulate_seconds");
        if (v && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 600))
            return cp_error_set(err, CP_EUNPROC, "out_of_range", "config.simulate_seconds",
                                "config.simulate_seconds must be a whole number from 0 to 600");
        v = json_object_get(config, "simulate_failure");
        if (v && !json_is_null(v) && !json_is_boolean(v))
            return cp_error_set(err, CP_EUNPROC, "invalid_type", "config.simulate_failure",
                                "config.simulate_failure must be a boolean");
    }
    return CP_OK;
}

bool cp_catalog_stoppable(const char *cloud, const char *kind, const char **why)
{
    const kind_ent *k = find_kind(cloud, kind);
    if (why)
        *why = !k                 ? "unknown cloud or kind"
               : k->stoppable     ? NULL
               : k->not_stoppable ? k->not_stoppable
                                  : "only VMs can be stopped";
    return k && k->stoppable;
}

cp_result cp_catalog_validate(const char *cloud, const char *kind, const char *name, const char *region,
                              const char *size, json_t *config, cp_error *err)
{
    cp_result r = cp_catalog_init(err);
    if (r != CP_OK) return r;
    if (!find_cloud(cloud))
        return cp_error_set(err, CP_EUNPROC, "invalid_cloud", "cloud",
                            "cloud must be one of: aws, azure, gcp, sandbox");
    const kind_ent *k = find_kind(cloud, kind);
    if (!k) return cp_error_set(err, CP_EUNPROC, "invalid_kind", "kind", "kind must be vm or storage");

    size_t nlen = name ? strlen(name) : 0;
    if (!name || nlen < k->name_min || nlen > k->name_max || regexec(&k->name_re, name, 0, NULL, 0) != 0)
        return cp_error_set(err, CP_EUNPROC, "invalid_name", "name", "name must be %s", k->name_desc);
    const char *extra = name_extra_rule(k, name);
    if (extra) return cp_error_set(err, CP_EUNPROC, "invalid_name", "name", "%s", extra);

    json_t *regions = json_object_get(k->obj, "regions");
    if (!region || !in_list(regions, region)) {
        char ids[256];
        list_ids(regions, ids, sizeof ids);
        return cp_error_set(err, CP_EUNPROC, "invalid_region", "region", "region must be one of: %s", ids);
    }

    if (strcmp(k->kind, "vm") == 0) {
        if (!size || !find_size(k, size)) {
            char ids[256];
            list_ids(json_object_get(k->obj, "sizes"), ids, sizeof ids);
            return cp_error_set(err, CP_EUNPROC, "invalid_size", "size", "size must be one of: %s", ids);
        }
    } else if (size && *size) {
        return cp_error_set(err, CP_EUNPROC, "invalid_size", "size", "storage has no size; leave size out");
    }
    return check_config(k, config, err);
}

double cp_catalog_monthly_cost(const char *cloud, const char *kind, const char *size, json_t *config)
{
    const kind_ent *k = find_kind(cloud, kind);
    if (!k) return -1;
    if (strcmp(k->kind, "vm") == 0) {
        json_t *s = find_size(k, size);
        if (!s) return -1;
        /* Stopped, only the storage that stays (the boot disk) bills. */
        if (strcmp(cp_json_str(config, "power_state", "running"), "stopped") == 0)
            return json_number_value(json_object_get(s, "stopped_monthly_cost_usd"));
        return json_number_value(json_object_get(s, "hourly_usd")) * HOURS_PER_MONTH;
    }
    double gb = cp_json_num(config, "expected_gb", DEFAULT_EXPECTED_GB);
    return json_number_value(json_object_get(k->obj, "gb_month_usd")) * gb;
}

/* ---------------------------------------------------------------- tfvars */

/* Which optional variables each module declares (see its variables.tf). */
enum { V_VM = 1, V_FORCE_DESTROY = 2, V_ADMIN_USER = 4, V_PROJECT = 8, V_ZONE = 16, V_SIMULATE = 32, V_PUBLIC = 64 };
static const struct {
    const char *module;
    unsigned vars;
} module_vars[] = {
    {"aws_vm", V_VM},
    {"aws_s3", V_FORCE_DESTROY | V_PUBLIC},
    {"azure_vm", V_VM | V_ADMIN_USER},
    {"azure_blob", V_PUBLIC},
    {"gcp_vm", V_VM | V_ADMIN_USER | V_PROJECT | V_ZONE},
    {"gcp_storage", V_FORCE_DESTROY | V_PROJECT | V_PUBLIC},
    {"sandbox_vm", V_VM | V_SIMULATE},
    {"sandbox_storage", V_FORCE_DESTROY | V_SIMULATE | V_PUBLIC},
};

static bool valid_resource_id(const char *id)
{
    if (!id || strlen(id) != 26) return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z'))) return false;
    return true;
}

static json_t *config_or(json_t *config, const char *key, json_t *def)
{
    json_t *v = json_object_get(config, key);
    if (!v || json_is_null(v)) return def;
    json_decref(def);
    return json_deep_copy(v);
}

json_t *cp_catalog_tfvars(const char *resource_id, const char *cloud, const char *kind, const char *name,
                          const char *region, const char *size, json_t *config, json_t *extra, cp_error *err)
{
    if (!valid_resource_id(resource_id)) {
        cp_error_set(err, CP_EINVAL, "bad_request", "resource_id",
                     "resource_id must be 26 lower-case letters or digits");
        return NULL;
    }
    if (cp_catalog_validate(cloud, kind, name, region, size, config, err) != CP_OK) return NULL;
    const kind_ent *k = find_kind(cloud, kind);
    unsigned vars = 0;
    bool known = false;
    for (size_t i = 0; i < CP_ARRAY_LEN(module_vars) && !known; i++)
        if (strcmp(module_vars[i].module, k->module) == 0) vars = module_vars[i].vars, known = true;
    if (!known) {
        cp_error_set(err, CP_ERR, "catalog", NULL, "no variable mapping for module %s", k->module);
        return NULL;
    }
    const char *project = cp_json_str(extra, "project_id", NULL);
    if ((vars & V_PROJECT) && (!project || regexec(&cat.project_re, project, 0, NULL, 0) != 0)) {
        cp_error_set(
            err, CP_EUNPROC, "invalid_project", "project_id",
            "a GCP project_id is required: 6-30 lower-case letters, digits or hyphens, starting with a letter");
        return NULL;
    }

    json_t *v = json_object();
    json_object_set_new(v, "resource_id", json_string(resource_id));
    json_object_set_new(v, "name", json_string(name));
    json_object_set_new(v, "region", json_string(region));
    json_object_set_new(v, "tags", config_or(config, "tags", json_object()));
    if (vars & V_VM) {
        json_object_set_new(v, "size", json_string(size));
        json_object_set_new(v, "ssh_public_key", config_or(config, "ssh_public_key", json_null()));
        json_object_set_new(v, "allowed_cidrs", config_or(config, "allowed_cidrs", json_array()));
        json_object_set_new(v, "power_state", config_or(config, "power_state", json_string("running")));
    }
    if (vars & V_FORCE_DESTROY) json_object_set_new(v, "force_destroy", json_false());
    if (vars & V_PUBLIC) json_object_set_new(v, "public", config_or(config, "public", json_false()));
    if (vars & V_ADMIN_USER) json_object_set_new(v, "admin_username", json_string("cloudplane"));
    if (vars & V_PROJECT) json_object_set_new(v, "project_id", json_string(project));
    if (vars & V_ZONE) json_object_set_new(v, "zone", json_null());
    if (vars & V_SIMULATE) {
        json_object_set_new(v, "simulate_seconds", config_or(config, "simulate_seconds", json_integer(0)));
        json_object_set_new(v, "simulate_failure", config_or(config, "simulate_failure", json_false()));
    }
    return v;
}

/* ---- guardrails: what the rules look up ---- */

int cp_catalog_size_vcpu(const char *cloud, const char *kind, const char *size)
{
    const kind_ent *k = find_kind(cloud, kind);
    json_t *s = k && size ? find_size(k, size) : NULL;
    return s ? (int)json_integer_value(json_object_get(s, "vcpu")) : 0;
}

bool cp_catalog_region_known(const char *cloud, const char *region)
{
    const cloud_ent *c = find_cloud(cloud);
    for (size_t i = 0; c && region && i < cat.n_kinds; i++)
        if (cat.kinds[i].cloud == c && in_list(json_object_get(cat.kinds[i].obj, "regions"), region)) return true;
    return false;
}

bool cp_catalog_size_known(const char *cloud, const char *size)
{
    const kind_ent *k = find_kind(cloud, "vm");
    return k && size && find_size(k, size) != NULL;
}

json_t *cp_catalog_public_when(const char *cloud, const char *kind)
{
    const kind_ent *k = find_kind(cloud, kind);
    return k ? json_object_get(k->obj, "public_when") : NULL;
}

/* ---- drift: what the cloud's values may be adopted for ---- */

/* The cloud attribute that holds the user's tags: GCP calls them labels. */
static const char *tags_attribute(const char *cloud)
{
    return strcmp(cloud, "gcp") == 0 ? "labels" : "tags";
}

bool cp_catalog_drift_adoptable(const char *cloud, const char *kind, const char *path)
{
    if (!find_kind(cloud, kind) || !path) return false;
    const char *attr = tags_attribute(cloud);
    size_t n = strlen(attr);
    if (strncmp(path, attr, n) != 0) return false;
    if (path[n] == '\0') return true;
    return path[n] == '.' && path[n + 1] && !own_tag(path + n + 1);
}

cp_result cp_catalog_drift_adopt(const char *cloud, const char *kind, json_t *config, const char *path, json_t *after,
                                 cp_error *err)
{
    if (!cp_catalog_drift_adoptable(cloud, kind, path))
        return cp_error_set(err, CP_EUNPROC, "not_acceptable", NULL,
                            "%s cannot be adopted from the cloud; reconcile it instead", path);
    json_t *tags = json_object_get(config, "tags");
    if (!json_is_object(tags)) {
        tags = json_object();
        json_object_set_new(config, "tags", tags);
    }
    const char *key = strchr(path, '.');
    if (!key) { /* the whole map: the user's part of it */
        json_object_clear(tags);
        const char *k;
        json_t *v;
        json_object_foreach(after, k, v) if (!own_tag(k) && json_is_string(v)) json_object_set(tags, k, v);
    } else if (json_is_null(after) || !after) {
        json_object_del(tags, key + 1);
    } else {
        json_object_set(tags, key + 1, after);
    }
    return CP_OK;
}
