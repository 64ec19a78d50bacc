/* store.h: the store interface. Every read and write of application data goes
 * through these calls; they are implemented once over db.h and run on SQLite
 * (embedded) and PostgreSQL (distributed). Strings in returned records are
 * allocated in the caller's arena. */
#ifndef CP_STORE_H
#define CP_STORE_H

#include "core/arena.h"
#include "core/error.h"
#include "store/db.h"

typedef struct cp_store cp_store;

/* Opens (and, if migrate is true, migrates) the database at url. */
cp_result cp_store_open(const char *url, int pool_size, bool migrate, cp_store **out, cp_error *err);
void cp_store_close(cp_store *s);
cp_db *cp_store_db(cp_store *s);
/* Applies pending migrations; *applied gets how many ran. */
cp_result cp_store_migrate(cp_store *s, int *applied, cp_error *err);
/* Cheap round trip, for /readyz. */
cp_result cp_store_ping(cp_store *s, cp_error *err);

typedef struct {
    char *id;
    char *email;
    char *name;
    char *password_hash;
    int64_t created_at;
} cp_user;

/* CP_ECONFLICT when the (lower-cased) email exists. */
cp_result cp_store_user_create(cp_store *s, cp_arena *a, const char *email, const char *name,
                               const char *password_hash, cp_user *out, cp_error *err);
cp_result cp_store_user_by_email(cp_store *s, cp_arena *a, const char *email, cp_user *out, cp_error *err);
cp_result cp_store_user_by_id(cp_store *s, cp_arena *a, const char *id, cp_user *out, cp_error *err);

#endif
