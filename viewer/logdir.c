/* viewer/logdir.c: a TensorBoard run folder for a profile — the tfevents file, the Kineto
 * trace and the xplane.pb under plugins/profile/<session>/ — laid out the way TensorBoard's
 * profile plugin finds them. It only names and orders files; each writer lives in its own. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "view.h"

static st_status mkdirs(const char *path, st_error *err) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return st_errorf(err, ST_ERR_LIMIT, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0777) && errno != EEXIST)
                return st_errorf(err, ST_ERR_IO, "%s: %s", buf, strerror(errno));
            *p = '/';
        }
    if (mkdir(buf, 0777) && errno != EEXIST)
        return st_errorf(err, ST_ERR_IO, "%s: %s", buf, strerror(errno));
    return ST_OK;
}

st_status st_view_logdir(const st_prof *p, const char *model, const char *logdir, const char *run,
                         char **run_dir, st_error *err) {
    char host[256] = "localhost", dir[4096], path[4608], session[64];
    if (gethostname(host, sizeof host - 1) || !host[0]) snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = 0;
    for (char *c = host; *c; c++)
        if (*c == '/' || *c == '.') *c = '_';
    if (snprintf(dir, sizeof dir, "%s/%s", logdir, run && run[0] ? run : "stele") >=
        (int)sizeof dir)
        return st_errorf(err, ST_ERR_LIMIT, "%s: path too long", logdir);
    st_view_names nm = {0};
    st_status st = mkdirs(dir, err);
    if (!st) st = st_view_names_make(p->graph, &nm, err);
    if (st) return st;
    time_t secs = (time_t)p->origin_wall;
    long long ms = (long long)(p->origin_wall * 1000);
    snprintf(path, sizeof path, "%s/events.out.tfevents.%lld.%s", dir, (long long)secs, host);
    st = st_view_events(p, &nm, path, err);
    if (!st) {
        snprintf(path, sizeof path, "%s/%s_%d.%lld.pt.trace.json", dir, host, (int)getpid(), ms);
        st = st_view_trace(p, model, path, err);
    }
    if (!st) {
        struct tm tmv;
        gmtime_r(&secs, &tmv);
        strftime(session, sizeof session, "%Y_%m_%d_%H_%M_%S", &tmv);
        snprintf(path, sizeof path, "%s/plugins/profile/%s", dir, session);
        st = mkdirs(path, err);
        if (!st) {
            snprintf(path, sizeof path, "%s/plugins/profile/%s/%s.xplane.pb", dir, session, host);
            st = st_view_xplane(p, &nm, host, path, err);
        }
    }
    st_view_names_free(&nm);
    if (st) return st;
    if (run_dir) {
        *run_dir = st_strdup(dir);
        if (!*run_dir) return st_error_nomem(err);
    }
    return ST_OK;
}
