/* mail.h: outgoing mail, one path for every kind. With an SMTP server
 * configured (CLOUDPLANE_SMTP_URL, CLOUDPLANE_SMTP_FROM) a mail goes through
 * it (libcurl); otherwise it is "sent" by a stub: one structured log line
 * and, when an outbox dir is configured, one JSON file per message there
 * ({to, kind, subject, text, link}), which tests and `make run` users read. */
#ifndef CP_MAIL_H
#define CP_MAIL_H

#include "core/config.h"
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

/* Reads the SMTP settings of cfg (the password from its file when given).
 * Once at start, before threads send. A URL that is not smtp:// or
 * smtps://, or one without CLOUDPLANE_SMTP_FROM, is an error. */
cp_result cp_mail_configure(const cp_config *cfg, cp_error *err) CP_MUST_CHECK;
/* True when mails go through an SMTP server. */
bool cp_mail_smtp_enabled(void);

#endif
