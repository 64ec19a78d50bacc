/* config.c: where the client's URL and token come from (CLOUDPLANE_URL and
 * CLOUDPLANE_TOKEN, else the credentials file), and login / logout, which
 * write and remove that file (0600 in a 0700 directory). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "core/xalloc.h"

#define DEFAULT_URL "http://127.0.0.1:8080"

bool cp_cli_credentials_path(char *out, size_t cap, char *dir, size_t dircap)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(dir, dircap, "%s/cloudplane", xdg);
    else if (home && home[0])
        n = snprintf(dir, dircap, "%s/.config/cloudplane", home);
    else
        return false;
    if (n < 0 || (size_t)n >= dircap) return false;
    n = snprintf(out, cap, "%s/credentials", dir);
    return n > 0 && (size_t)n < cap;
}

static void set_url(cp_cli_ctx *c, const char *url)
{
    snprintf(c->url, sizeof c->url, "%s", url);
    size_t n = strlen(c->url);
    while (n && c->url[n - 1] == '/') c->url[--n] = '\0';
}

/* The credentials file's JSON, or NULL when there is none (or it is not JSON). */
static json_t *read_credentials(void)
{
    char path[4096], dir[4096];
    if (!cp_cli_credentials_path(path, sizeof path, dir, sizeof dir)) return NULL;
    json_error_t je;
    return json_load_file(path, 0, &je);
}

int cp_cli_ctx_load(cp_cli_ctx *c, bool json)
{
    memset(c, 0, sizeof *c);
    c->json = json;
    json_t *file = read_credentials();
    const char *url = getenv("CLOUDPLANE_URL"), *token = getenv("CLOUDPLANE_TOKEN");
    if (!url || !url[0]) url = json_string_value(json_object_get(file, "url"));
    if (!token || !token[0]) token = json_string_value(json_object_get(file, "token"));
    set_url(c, url && url[0] ? url : DEFAULT_URL);
    int rc = CP_CLI_OK;
    if (!token || !token[0]) {
        fprintf(stderr, "cloudplane: not logged in: run `cloudplane login` or set CLOUDPLANE_TOKEN\n");
        rc = CP_CLI_USAGE;
    } else if (strlen(token) >= sizeof c->token || strpbrk(token, "\r\n")) {
        fprintf(stderr, "cloudplane: the token is not one the API takes\n");
        rc = CP_CLI_USAGE;
    } else {
        snprintf(c->token, sizeof c->token, "%s", token);
    }
    json_decref(file);
    return rc;
}

/* A line from stdin: after a prompt without echo on a terminal. */
static bool read_token(char *out, size_t cap)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "API token: ");
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            CP_IGNORE(tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)); /* at worst the token echoes */
        } else {
            tty = false;
        }
    }
    bool ok = fgets(out, (int)cap, stdin) != NULL;
    if (tty) {
        CP_IGNORE(tcsetattr(STDIN_FILENO, TCSAFLUSH, &old));
        fputc('\n', stderr);
    }
    if (!ok) return false;
    out[strcspn(out, "\r\n")] = '\0';
    /* Surrounding blanks from a paste are not part of a token. */
    size_t n = strlen(out);
    while (n && (out[n - 1] == ' ' || out[n - 1] == '\t')) out[--n] = '\0';
    size_t lead = strspn(out, " \t");
    memmove(out, out + lead, n - lead + 1);
    return out[0] != '\0';
}

static bool mkdir_private(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return false;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return false;
    return chmod(tmp, 0700) == 0;
}

/* Writes the file whole, through a temporary one renamed over it. */
static bool write_credentials(const char *path, const char *dir, const char *url, const char *token)
{
    if (!mkdir_private(dir)) return false;
    json_t *doc = json_pack("{s:s, s:s}", "url", url, "token", token);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    if (!text) return false;
    char *tmp = cp_xasprintf("%s.tmp.%ld", path, (long)getpid());
    bool ok = false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        size_t len = strlen(text);
        ok = fchmod(fd, 0600) == 0 && write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
        ok = close(fd) == 0 && ok;
        ok = ok && rename(tmp, path) == 0;
        if (!ok) unlink(tmp);
    }
    memset(text, 0, strlen(text));
    free(text);
    free(tmp);
    return ok;
}

static int cmd_login(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    char path[4096], dir[4096];
    if (!cp_cli_credentials_path(path, sizeof path, dir, sizeof dir)) {
        fprintf(stderr, "cloudplane login: neither XDG_CONFIG_HOME nor HOME is set\n");
        return CP_CLI_USAGE;
    }
    const char *url = CP_CLI_GET(a, cmd, "--url");
    if (!url) url = getenv("CLOUDPLANE_URL");
    json_t *file = NULL;
    if (!url || !url[0]) {
        file = read_credentials();
        url = json_string_value(json_object_get(file, "url"));
    }
    set_url(c, url && url[0] ? url : DEFAULT_URL);
    json_decref(file);
    if (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0) {
        fprintf(stderr, "cloudplane login: --url must start with http:// or https://\n");
        return CP_CLI_USAGE;
    }
    if (!read_token(c->token, sizeof c->token)) {
        fprintf(stderr, "cloudplane login: no token given (paste one, or pipe it on stdin)\n");
        return CP_CLI_USAGE;
    }
    json_t *me;
    int rc = cp_cli_call(c, "GET", "/api/v1/auth/me", NULL, &me, NULL);
    if (rc != CP_CLI_OK) {
        fprintf(stderr, "cloudplane login: the token was not stored\n");
        return rc;
    }
    if (!write_credentials(path, dir, c->url, c->token)) {
        fprintf(stderr, "cloudplane login: cannot write %s: %s\n", path, strerror(errno));
        json_decref(me);
        return CP_CLI_USAGE;
    }
    if (c->json)
        cp_cli_print_json(me);
    else
        printf("logged in to %s as %s; credentials in %s\n", c->url,
               json_string_value(json_object_get(me, "email")) ?: "?", path);
    json_decref(me);
    return CP_CLI_OK;
}

static int cmd_logout(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    CP_UNUSED(c);
    CP_UNUSED(cmd);
    CP_UNUSED(a);
    char path[4096], dir[4096];
    if (!cp_cli_credentials_path(path, sizeof path, dir, sizeof dir)) return CP_CLI_OK;
    if (unlink(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "cloudplane logout: cannot remove %s: %s\n", path, strerror(errno));
        return CP_CLI_USAGE;
    }
    printf("logged out (removed %s)\n", path);
    return CP_CLI_OK;
}

static const cp_cli_opt login_opts[] = {
    {"--url", NULL, "URL", true, false, "the server (default: CLOUDPLANE_URL, the stored one, or " DEFAULT_URL ")"},
};

const cp_cli_cmd cp_cli_cmds_config[] = {
    {"login", NULL, "", "store a token (read from stdin, or prompted for without echo) after checking it", login_opts,
     CP_ARRAY_LEN(login_opts), true, 0, 0, cmd_login},
    {"logout", NULL, "", "remove the stored credentials", NULL, 0, true, 0, 0, cmd_logout},
};
const size_t cp_cli_ncmds_config = CP_ARRAY_LEN(cp_cli_cmds_config);
