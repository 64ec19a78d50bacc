/* mail.h: outgoing mail. No mail server is supported yet, so a mail is
 * "sent" by a stub: one structured log line and, when an outbox dir is
 * configured, one JSON file per message there ({to, kind, subject, text,
 * link}), which tests and `make run` users read. */
#ifndef CP_MAIL_H
#define CP_MAIL_H

#include "core/error.h"

typedef struct {
    const char *to;
    const char *kind; /* what the mail is for, e.g. "signup", "invitation" */
    const char *subject;
    const char *text;
    const char *link; /* NULL when the mail carries none */
} cp_mail;

/* The link is a credential (it signs up or joins a project): it goes to the
 * log only when there is no outbox, the log then being the only way to
 * deliver it; with an outbox the log line names the file instead. */
cp_result cp_mail_send(const char *outbox_dir, const cp_mail *m, cp_error *err) CP_MUST_CHECK;

#endif
