/* notify_mail.c: notifications by mail (notify_mail.h). */
#include "worker/notify_mail.h"

#include <stdlib.h>

#include "core/log.h"
#include "core/mail.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "store/store_webhooks.h"

#define MAIL_BATCH 8
#define MAIL_LEASE_MS 300000 /* several SMTP timeouts */

struct cp_notify_mail {
    cp_app *app;
};

cp_result cp_notify_mail_new(cp_app *app, cp_notify_mail **out, cp_error *err)
{
    CP_UNUSED(err);
    *out = NULL;
    if (!cp_mail_smtp_enabled()) return CP_OK;
    cp_notify_mail *m = cp_xcalloc(1, sizeof *m);
    m->app = app;
    *out = m;
    return CP_OK;
}

void cp_notify_mail_free(cp_notify_mail *m)
{
    free(m);
}

void cp_notify_mail_run(cp_notify_mail *m, const char *owner)
{
    cp_arena *a = cp_arena_new(8192);
    cp_note_mail *items = NULL;
    size_t n = 0;
    cp_error e;
    if (cp_store_note_mails_claim(m->app->store, a, owner, cp_now_ms(), MAIL_LEASE_MS, MAIL_BATCH, &items, &n, &e) !=
        CP_OK) {
        cp_log_warn("notification mail: claim failed (retrying): %s", e.message);
        n = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const cp_note_mail *x = &items[i];
        cp_mail mail = {.to = x->email,
                        .kind = "notification",
                        .subject = cp_arena_printf(a, "[cloudplane] %s: %s", x->project_name, x->message),
                        .text =
                            cp_arena_printf(a, "%s\n\nProject: %s\nKind: %s\n", x->message, x->project_name, x->kind),
                        .link = NULL};
        bool sent = cp_mail_send(m->app->cfg->mail_outbox, &mail, &e) == CP_OK;
        if (!sent) cp_log_warn("notification %s: mail not sent (try %d): %s", x->id, (int)x->attempts + 1, e.message);
        if (cp_store_note_mail_done(m->app->store, x->id, owner, sent, cp_now_ms(), &e) != CP_OK)
            cp_log_warn("notification %s: mail outcome not recorded: %s", x->id, e.message);
    }
    cp_arena_free(a);
}
