/* mail.c: outgoing mail through SMTP, or the stub (see mail.h). */
#include "core/mail.h"

#include <curl/curl.h>
#include <time.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/secretfile.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

/* ---- SMTP ---- */

/* Set once by cp_mail_configure, read-only after. */
static struct {
    bool on;
    char url[512], from[256], user[256], password[256];
} smtp;

cp_result cp_mail_configure(const cp_config *cfg, cp_error *err)
{
    memset(&smtp, 0, sizeof smtp);
    if (!cfg->smtp_url || !cfg->smtp_url[0]) return CP_OK;
    if (strncmp(cfg->smtp_url, "smtp://", 7) && strncmp(cfg->smtp_url, "smtps://", 8))
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "CLOUDPLANE_SMTP_URL must be smtp:// or smtps://");
    if (!cfg->smtp_from || !cfg->smtp_from[0] || strpbrk(cfg->smtp_from, "\r\n<>"))
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL,
                            "CLOUDPLANE_SMTP_FROM must be set to a sender address with CLOUDPLANE_SMTP_URL");
    snprintf(smtp.url, sizeof smtp.url, "%s", cfg->smtp_url);
    snprintf(smtp.from, sizeof smtp.from, "%s", cfg->smtp_from);
    snprintf(smtp.user, sizeof smtp.user, "%s", cfg->smtp_user ? cfg->smtp_user : "");
    if (cfg->smtp_password_file && cfg->smtp_password_file[0]) {
        cp_result r = cp_secret_read(cfg->smtp_password_file, smtp.password, sizeof smtp.password, err);
        if (r != CP_OK) return r;
    } else {
        snprintf(smtp.password, sizeof smtp.password, "%s", cfg->smtp_password ? cfg->smtp_password : "");
    }
    smtp.on = true;
    cp_log_info("mail goes through the SMTP server %s (from %s)", smtp.url, smtp.from);
    return CP_OK;
}

bool cp_mail_smtp_enabled(void)
{
    return smtp.on;
}

typedef struct {
    const char *data;
    size_t len, off;
} upload;

static size_t read_upload(char *buf, size_t size, size_t nitems, void *userdata)
{
    upload *u = userdata;
    size_t n = size * nitems, left = u->len - u->off;
    if (n > left) n = left;
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

/* A header value: control characters (a CR or LF would start a header of
 * its own) become spaces. */
static void header_value(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = ' ';
}

static cp_result send_smtp(const cp_mail *m, cp_error *err)
{
    char to[320], subject[512], date[64], id[CP_ID_LEN + 1];
    snprintf(to, sizeof to, "%s", m->to);
    snprintf(subject, sizeof subject, "%s", m->subject);
    header_value(to);
    header_value(subject);
    if (strpbrk(to, "<>,; ")) return cp_error_set(err, CP_EINVAL, NULL, NULL, "not a mail address");
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    cp_id_new(id);
    const char *at = strchr(smtp.from, '@');
    /* Lines end in CRLF; a body line of a lone "." is escaped by curl. */
    char *text = cp_xasprintf("Date: %s\r\nTo: <%s>\r\nFrom: <%s>\r\nSubject: %s\r\nMessage-ID: <%s%s>\r\n"
                              "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                              "Content-Transfer-Encoding: 8bit\r\n\r\n%s%s%s\r\n",
                              date, to, smtp.from, subject, id, at ? at : "@cloudplane", m->text,
                              m->link ? "\r\n\r\n" : "", m->link ? m->link : "");
    upload u = {text, strlen(text), 0};
    char rcpt_line[330], from_line[270];
    snprintf(rcpt_line, sizeof rcpt_line, "<%s>", to);
    snprintf(from_line, sizeof from_line, "<%s>", smtp.from);
    struct curl_slist *rcpt = curl_slist_append(NULL, rcpt_line);
    CURL *h = curl_easy_init();
    cp_result r = CP_OK;
    if (!h || !rcpt) {
        r = cp_error_set(err, CP_ERR, NULL, NULL, "cannot start an SMTP session");
        goto out;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    /* Options fail only on an unknown option or no memory; the send then fails. */
    (void)curl_easy_setopt(h, CURLOPT_URL, smtp.url);
    (void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    (void)curl_easy_setopt(h, CURLOPT_MAIL_FROM, from_line);
    (void)curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    (void)curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
    (void)curl_easy_setopt(h, CURLOPT_READDATA, &u);
    (void)curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    (void)curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    (void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if (smtp.user[0]) {
        (void)curl_easy_setopt(h, CURLOPT_USERNAME, smtp.user);
        (void)curl_easy_setopt(h, CURLOPT_PASSWORD, smtp.password);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK)
        r = cp_error_set(err, CP_EAGAIN, NULL, NULL, "SMTP: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
out:
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    free(text);
    return r;
}

/* Written to a temp name and renamed, so a reader never sees half a mail. */
static cp_result write_outbox(const char *dir, const cp_mail *m, char *path, size_t cap, cp_error *err)
{
    char id[CP_ID_LEN + 1], tmp[PATH_MAX];
    cp_id_new(id);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cp_error_set(err, CP_ERR, NULL, NULL, "cannot create the mail outbox %s: %s", dir, strerror(errno));
    snprintf(path, cap, "%s/%s.json", dir, id);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, id);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o}", "to", m->to, "kind", m->kind, "subject", m->subject, "text",
                          m->text, "link", m->link ? json_string(m->link) : json_null());
    if (!j) return cp_error_set(err, CP_ERR, NULL, NULL, "cannot build the mail");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    cp_result r = CP_OK;
    if (fd < 0) {
        r = cp_error_set(err, CP_ERR, NULL, NULL, "cannot write to the mail outbox %s: %s", dir, strerror(errno));
        goto out;
    }
    bool ok = json_dumpfd(j, fd, JSON_INDENT(2)) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        r = cp_error_set(err, CP_ERR, NULL, NULL, "cannot write to the mail outbox %s", dir);
        if (unlink(tmp) != 0) cp_log_warn("cannot remove %s", tmp);
    }
out:
    json_decref(j);
    return r;
}

cp_result cp_mail_send(const char *outbox_dir, const cp_mail *m, cp_error *err)
{
    if (smtp.on) {
        cp_result r = send_smtp(m, err);
        /* Never the link: it is a credential. */
        if (r == CP_OK)
            cp_log(CP_LOG_INFO, "mail sent",
                   json_pack("{s:s, s:s, s:s}", "to", m->to, "kind", m->kind, "subject", m->subject));
        return r;
    }
    char path[PATH_MAX] = "";
    bool outbox = outbox_dir && outbox_dir[0];
    if (outbox) {
        cp_result r = write_outbox(outbox_dir, m, path, sizeof path, err);
        if (r != CP_OK) return r;
    }
    json_t *f = json_pack("{s:s, s:s, s:s}", "to", m->to, "kind", m->kind, "subject", m->subject);
    if (outbox)
        json_object_set_new(f, "outbox_file", json_string(path));
    else
        json_object_set_new(f, "link", m->link ? json_string(m->link) : json_null());
    cp_log(CP_LOG_INFO, "mail (no mail server configured)", f);
    return CP_OK;
}
