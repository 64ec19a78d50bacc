/* store_int.h: helpers shared by the store's implementation files. */
#ifndef CP_STORE_INT_H
#define CP_STORE_INT_H

#include "store/store.h"

struct cp_store {
    cp_db *db;
};

typedef void (*cp_row_fn)(cp_dbrows *r, cp_arena *a, void *out);

/* One statement on a pooled connection. */
cp_result cp_store_exec(cp_store *s, const char *sql, const cp_param *p, int n, int64_t *changes, cp_error *err);
/* First row through fill; CP_ENOTFOUND (with err set to what) when there is none. */
cp_result cp_store_one(cp_store *s, cp_arena *a, const char *sql, const cp_param *p, int n, cp_row_fn fill,
                       void *out, const char *what, cp_error *err);

#endif
