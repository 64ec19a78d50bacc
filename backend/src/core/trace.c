#include "core/trace.h"

#include <string.h>

#include "core/ids.h"

static _Thread_local char current[CP_TRACE_ID_MAX + 1];

bool cp_trace_id_valid(const char *s)
{
    if (!s) return false;
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-");
    return n > 0 && n <= CP_TRACE_ID_MAX && s[n] == '\0';
}

void cp_trace_id_new(const char *prefix, char out[CP_TRACE_ID_MAX + 1])
{
    char hex[17];
    cp_rand_hex(hex, 8);
    size_t n = prefix ? strnlen(prefix, CP_TRACE_ID_MAX - 16) : 0;
    if (n) memcpy(out, prefix, n);
    memcpy(out + n, hex, sizeof hex);
}

void cp_trace_set(const char *id)
{
    if (cp_trace_id_valid(id))
        memcpy(current, id, strlen(id) + 1);
    else
        current[0] = '\0';
}

const char *cp_trace_get(void)
{
    return current[0] ? current : NULL;
}
