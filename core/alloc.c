/* core/alloc.c: the one allocator hook (Lua's l_alloc contract), the failure-injection
 * switch used by out-of-memory tests, growable arrays, arenas and checked helpers. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

static void *default_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

static st_alloc_fn alloc_fn = default_alloc;
static void *alloc_ud;
static long fail_countdown; /* test hook: >0 counts down to an injected failure */

void st_set_allocator(st_alloc_fn fn, void *ud) {
    alloc_fn = fn ? fn : default_alloc;
    alloc_ud = fn ? ud : NULL;
}

long st_alloc_fail_after(long n) {
    long left = fail_countdown;
    fail_countdown = n;
    return left;
}

static bool inject_failure(void) {
    if (fail_countdown <= 0) return false;
    return --fail_countdown == 0;
}

void *st_malloc(size_t n) {
    if (inject_failure()) return NULL;
    return alloc_fn(alloc_ud, NULL, 0, n ? n : 1);
}

void *st_malloc_aligned(size_t n, size_t align) {
    size_t total;
    if (!st_add_ok(n ? n : 1, align + sizeof(void *), &total)) return NULL;
    char *raw = st_malloc(total);
    if (!raw) return NULL;
    uintptr_t p = ((uintptr_t)raw + sizeof(void *) + align - 1) & ~(uintptr_t)(align - 1);
    ((void **)p)[-1] = raw;
    return (void *)p;
}

void st_free_aligned(void *p) {
    if (p) st_free(((void **)p)[-1]);
}

void *st_calloc(size_t count, size_t size) {
    size_t n;
    if (!st_mul_ok(count, size, &n)) return NULL;
    void *p = st_malloc(n);
    if (p) memset(p, 0, n ? n : 1);
    return p;
}

void *st_realloc(void *p, size_t n) {
    if (inject_failure()) return NULL;
    return alloc_fn(alloc_ud, p, 0, n ? n : 1);
}

void st_free(void *p) {
    if (p) alloc_fn(alloc_ud, p, 0, 0);
}

char *st_strndup(const char *s, size_t n) {
    char *d = st_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *st_strdup(const char *s) { return s ? st_strndup(s, strlen(s)) : NULL; }

bool st_grow(void **p, size_t *cap, size_t n, size_t esz) {
    if (n <= *cap) return true;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < n) {
        if (ncap > SIZE_MAX / 2) return false;
        ncap *= 2;
    }
    size_t bytes;
    if (!st_mul_ok(ncap, esz, &bytes)) return false;
    void *np = st_realloc(*p, bytes);
    if (!np) return false;
    *p = np;
    *cap = ncap;
    return true;
}

/* ---- arena ---- */
typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} chunk;

struct st_arena {
    chunk *head;
    size_t chunk_size;
};

st_arena *st_arena_new(size_t chunk_size) {
    st_arena *a = st_calloc(1, sizeof *a);
    if (a) a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
    return a;
}

void st_arena_free(st_arena *a) {
    if (!a) return;
    for (chunk *c = a->head, *n; c; c = n) {
        n = c->next;
        st_free(c);
    }
    st_free(a);
}

void *st_arena_alloc(st_arena *a, size_t n) {
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n) return NULL;
    chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t sz = need > a->chunk_size ? need : a->chunk_size, total;
        if (!st_add_ok(sizeof(chunk), sz, &total)) return NULL;
        chunk *nc = st_malloc(total);
        if (!nc) return NULL;
        nc->size = sz;
        nc->used = 0;
        if (c && need > a->chunk_size) { /* big block: keep the current chunk on top */
            nc->next = c->next;
            c->next = nc;
            nc->used = need;
            return nc->data;
        }
        nc->next = c;
        a->head = c = nc;
    }
    void *p = c->data + c->used;
    c->used += need;
    return p;
}

char *st_arena_strdup(st_arena *a, const char *s) {
    size_t n = strlen(s);
    char *d = st_arena_alloc(a, n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

uint64_t st_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
