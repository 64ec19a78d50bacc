/* cmd_order.c: `order vm|bucket`: one POST /api/v1/resources built from
 * flags, then (--wait) the run followed to its end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "core/xalloc.h"

#define SSH_KEY_MAX 8192

/* key=value into obj; JSON values (true, 3, "x") when as_json and the value
 * parses, else a string. false on a missing '='. */
static bool put_pair(json_t *obj, const char *pair, bool as_json)
{
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair) return false;
    char *key = cp_xstrndup(pair, (size_t)(eq - pair));
    json_t *v = as_json ? json_loads(eq + 1, JSON_DECODE_ANY, NULL) : NULL;
    json_object_set_new(obj, key, v ? v : json_string(eq + 1));
    free(key);
    return true;
}

static bool read_small_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    size_t n = fread(out, 1, cap - 1, f);
    bool ok = !ferror(f) && feof(f);
    fclose(f);
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0'; /* one key: the first line */
    return ok;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "cloudplane order: %s (see cloudplane order --help)\n", msg);
    return CP_CLI_USAGE;
}

static int cmd_order(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    const char *what = a->pos[0];
    const char *kind = !strcmp(what, "vm") ? "vm" : !strcmp(what, "bucket") ? "storage" : NULL;
    if (!kind) return usage_error("order vm or order bucket");
    const char *project = CP_CLI_GET(a, cmd, "--project"), *account = CP_CLI_GET(a, cmd, "--account"),
               *name = CP_CLI_GET(a, cmd, "--name"), *region = CP_CLI_GET(a, cmd, "--region"),
               *size = CP_CLI_GET(a, cmd, "--size"), *ttl = CP_CLI_GET(a, cmd, "--ttl"),
               *keyfile = CP_CLI_GET(a, cmd, "--ssh-key-file"), *timeout = CP_CLI_GET(a, cmd, "--timeout"),
               *override = CP_CLI_GET(a, cmd, "--override");
    if (!project || !account || !name || !region)
        return usage_error("--project, --account, --name and --region are required");
    if (!strcmp(kind, "vm") && !size) return usage_error("a vm needs --size");
    int64_t timeout_s = 30 * 60;
    if (timeout && !cp_cli_parse_seconds(timeout, &timeout_s)) return usage_error("--timeout takes e.g. 90s, 30m, 2h");

    json_t *config = json_object(), *tags = json_object();
    int rc = CP_CLI_USAGE;
    size_t n;
    const char *const *v = cp_cli_get_all(a, cmd->opts, cmd->nopts, "--tag", &n);
    for (size_t i = 0; i < n; i++)
        if (!put_pair(tags, v[i], false)) {
            usage_error("--tag takes key=value");
            goto out;
        }
    if (json_object_size(tags)) json_object_set(config, "tags", tags);
    v = cp_cli_get_all(a, cmd->opts, cmd->nopts, "--config", &n);
    for (size_t i = 0; i < n; i++)
        if (!put_pair(config, v[i], true)) {
            usage_error("--config takes key=value");
            goto out;
        }
    if (CP_CLI_GET(a, cmd, "--public")) json_object_set_new(config, "public", json_true());
    v = cp_cli_get_all(a, cmd->opts, cmd->nopts, "--cidr", &n);
    if (n) {
        json_t *cidrs = json_array();
        for (size_t i = 0; i < n; i++) json_array_append_new(cidrs, json_string(v[i]));
        json_object_set_new(config, "allowed_cidrs", cidrs);
    }
    if (keyfile) {
        char key[SSH_KEY_MAX + 1];
        if (!read_small_file(keyfile, key, sizeof key)) {
            fprintf(stderr, "cloudplane order: cannot read %s: %s\n", keyfile, errno ? strerror(errno) : "too large");
            goto out;
        }
        json_object_set_new(config, "ssh_public_key", json_string(key));
    }

    char pid[128], aid[128];
    if ((rc = cp_cli_project_id(c, project, pid, sizeof pid)) != CP_CLI_OK) goto out;
    if ((rc = cp_cli_account_id(c, pid, account, aid, sizeof aid)) != CP_CLI_OK) goto out;
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s}", "project_id", pid, "account_id", aid, "kind", kind, "name",
                             name, "region", region);
    if (size) json_object_set_new(body, "size", json_string(size));
    if (json_object_size(config)) json_object_set(body, "config", config);
    if (ttl) json_object_set_new(body, "ttl", json_string(ttl));
    if (override) json_object_set_new(body, "guardrail_override", json_pack("{s:s}", "reason", override));
    json_t *reply;
    rc = cp_cli_call(c, "POST", "/api/v1/resources", body, &reply, NULL);
    json_decref(body);
    if (rc == CP_CLI_OK) {
        rc = cp_cli_finish_run(c, reply, CP_CLI_GET(a, cmd, "--wait") != NULL, timeout_s);
        json_decref(reply);
    }
out:
    json_decref(tags);
    json_decref(config);
    return rc;
}

static const cp_cli_opt order_opts[] = {
    {"--project", "-p", "P", true, false, "the project (id or name)"},
    {"--account", "-a", "A", true, false, "the cloud account (id or name)"},
    {"--name", "-n", "N", true, false, "the resource's name (the catalog's name rule)"},
    {"--region", "-r", "R", true, false, "a region of the catalog kind"},
    {"--size", "-s", "S", true, false, "vm: a size of the catalog kind"},
    {"--tag", "-t", "K=V", true, true, "a tag (again for more)"},
    {"--ttl", NULL, "D", true, false, "lifetime: 30m, 8h, 3d, 2w (destroyed after it)"},
    {"--public", NULL, NULL, false, false, "bucket: anyone may read the objects"},
    {"--ssh-key-file", NULL, "F", true, false, "vm: the public key to install"},
    {"--cidr", NULL, "CIDR", true, true, "vm: an address range allowed in (again for more)"},
    {"--override", NULL, "REASON", true, false, "go ahead despite broken soft guardrails (owner or admin)"},
    {"--wait", "-w", NULL, false, false, "wait for the run to end; the exit code says how it ended"},
    {"--timeout", NULL, "D", true, false, "with --wait: give up after D (90s, 30m, 2h; default 30m)"},
    {"--config", NULL, "K=V", true, true, "expert: a raw config key (JSON value), e.g. simulate_failure=true"},
};

const cp_cli_cmd cp_cli_cmds_order[] = {
    {"order", NULL, "vm|bucket", "order a VM or a bucket", order_opts, CP_ARRAY_LEN(order_opts), false, 1, 1,
     cmd_order},
};
const size_t cp_cli_ncmds_order = CP_ARRAY_LEN(cp_cli_cmds_order);
