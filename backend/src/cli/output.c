/* output.c: what the client prints: aligned tables and key: value blocks
 * for people, the API's JSON as is for scripts. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "core/json.h"
#include "core/xalloc.h"

#define CELL_MAX 256

json_t *cp_cli_at(json_t *obj, const char *path)
{
    char key[128];
    while (obj && path && *path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        snprintf(key, sizeof key, "%.*s", (int)len, path);
        obj = json_object_get(obj, key);
        path = dot ? dot + 1 : NULL;
    }
    return obj;
}

const char *cp_cli_text(json_t *v, char *buf, size_t cap)
{
    if (!v || json_is_null(v)) return "-";
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_true(v)) return "yes";
    if (json_is_false(v)) return "no";
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_real(v)) {
        snprintf(buf, cap, "%.2f", json_real_value(v));
        return buf;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(buf, cap, "%s", s ? s : "?");
    free(s);
    return buf;
}

static const char *cell(json_t *item, const cp_cli_col *col, char *buf, size_t cap)
{
    const char *s = col->fmt ? col->fmt(item, buf, cap) : cp_cli_text(cp_cli_at(item, col->path), buf, cap);
    if (s != buf) {
        snprintf(buf, cap, "%s", s);
        s = buf;
    }
    /* A cell is one line: control characters (a newline in a message) become spaces. */
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    return s;
}

/* Display width of UTF-8 text: code points (good enough for a terminal table). */
static size_t width(const char *s)
{
    return cp_utf8_len(s, strlen(s));
}

void cp_cli_table(FILE *f, json_t *items, const cp_cli_col *cols, size_t ncols)
{
    size_t rows = json_array_size(items);
    char **cells = cp_xcalloc((rows + 1) * ncols, sizeof *cells);
    size_t *w = cp_xcalloc(ncols, sizeof *w);
    char buf[CELL_MAX];
    for (size_t c = 0; c < ncols; c++) {
        cells[c] = cp_xstrdup(cols[c].title);
        w[c] = width(cells[c]);
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < ncols; c++) {
            char *s = cp_xstrdup(cell(json_array_get(items, r), &cols[c], buf, sizeof buf));
            cells[(r + 1) * ncols + c] = s;
            if (width(s) > w[c]) w[c] = width(s);
        }
    for (size_t r = 0; r <= rows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *s = cells[r * ncols + c];
            if (c + 1 == ncols)
                fprintf(f, "%s\n", s);
            else
                fprintf(f, "%s%*s", s, (int)(w[c] - width(s) + 2), "");
        }
    }
    for (size_t i = 0; i < (rows + 1) * ncols; i++) free(cells[i]);
    free(cells);
    free(w);
}

void cp_cli_fields(FILE *f, json_t *obj, const cp_cli_col *cols, size_t ncols)
{
    size_t w = 0;
    for (size_t c = 0; c < ncols; c++)
        if (strlen(cols[c].title) > w) w = strlen(cols[c].title);
    char buf[CELL_MAX];
    for (size_t c = 0; c < ncols; c++)
        fprintf(f, "%-*s  %s\n", (int)w + 1, cols[c].title, cell(obj, &cols[c], buf, sizeof buf));
}

void cp_cli_print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s) abort(); /* only without memory: jansson allocates through cp_xmalloc */
    printf("%s\n", s);
    free(s);
}

void cp_cli_print_list(const cp_cli_ctx *c, json_t *items, const cp_cli_col *cols, size_t ncols)
{
    if (!c->json) {
        cp_cli_table(stdout, items, cols, ncols);
        return;
    }
    json_t *page = json_pack("{s:O, s:n}", "items", items, "next_cursor");
    cp_cli_print_json(page);
    json_decref(page);
}
