/* mail.c: the mail stub (see mail.h). */
#include "core/mail.h"

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
