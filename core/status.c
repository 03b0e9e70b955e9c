/* core/status.c: status names and error formatting. The failure site writes the detail;
 * callers on the way out prefix context with st_error_prefix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static const char *const status_text[] = {
#define ST_STATUS_TEXT_(name, text) text,
    ST_STATUS_MAP(ST_STATUS_TEXT_)
#undef ST_STATUS_TEXT_
};
_Static_assert(sizeof(status_text) / sizeof(status_text[0]) == ST_STATUS_COUNT,
               "status_text must cover every st_status");

const char *st_status_str(st_status s) {
    return (unsigned)s < ST_STATUS_COUNT ? status_text[s] : "unknown status";
}

void st_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "stele: internal error: %s (%s:%d)\n", expr, file, line);
    abort();
}

st_status st_errorv(st_error *err, st_status status, const char *fmt, va_list ap) {
    if (err) {
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        err->status = status;
    }
    return status;
}

st_status st_errorf(st_error *err, st_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    st_errorv(err, status, fmt, ap);
    va_end(ap);
    return status;
}

st_status st_sticky_failv(st_status *sticky, st_error *err, st_status status, const char *fmt,
                          va_list ap) {
    if (*sticky) return *sticky;
    *sticky = status;
    return st_errorv(err, status, fmt, ap);
}

st_status st_sticky_fail(st_status *sticky, st_error *err, st_status status, const char *fmt,
                         ...) {
    va_list ap;
    va_start(ap, fmt);
    st_status s = st_sticky_failv(sticky, err, status, fmt, ap);
    va_end(ap);
    return s;
}

void st_error_prefix(st_error *err, const char *fmt, ...) {
    if (!err) return;
    char prefix[ST_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[ST_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = 0;
    size_t pl = strlen(prefix);
    if (pl >= sizeof err->msg) pl = sizeof err->msg - 1;
    memcpy(err->msg, prefix, pl);
    size_t ol = strlen(old);
    if (ol > sizeof err->msg - 1 - pl) ol = sizeof err->msg - 1 - pl;
    memcpy(err->msg + pl, old, ol);
    err->msg[pl + ol] = 0;
}

st_status st_error_nomem(st_error *err) { return st_errorf(err, ST_ERR_NOMEM, "out of memory"); }
