/* notify_mail.h: notifications by mail. When SMTP is configured, the
 * delivery loop (webhooks.c) mails each new notification to its recipient
 * through core/mail.h, leasing rows like deliveries, so a slow mail server
 * holds up no run and two processes never mail one twice. */
#ifndef CP_WORKER_NOTIFY_MAIL_H
#define CP_WORKER_NOTIFY_MAIL_H

#include "app/app.h"

typedef struct cp_notify_mail cp_notify_mail;

/* *out NULL (CP_OK) when no SMTP server is configured. */
cp_result cp_notify_mail_new(cp_app *app, cp_notify_mail **out, cp_error *err) CP_MUST_CHECK;
void cp_notify_mail_free(cp_notify_mail *m);
/* Mails what is due, as owner. */
void cp_notify_mail_run(cp_notify_mail *m, const char *owner);

#endif
