/* tests/unit/test_zip.c: the zip layer — writer output read back (64-byte alignment, stored
 * members borrowed from the mapping), archives from Python's zipfile (stored and deflated, any
 * top folder), and hostile archives: ../ names, absolute names, absurd sizes, truncation,
 * random byte mutations. Nothing may crash; every refusal is one line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "zip/zip.h"

#define PYTHON "/usr/bin/python3"

static char dir[64];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/st_zip_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(zip, .init = setup, .fini = teardown);

static const char *at(const char *name) {
    static char buf[8][256];
    static int k;
    char *b = buf[k++ & 7];
    snprintf(b, 256, "%s/%s", dir, name);
    return b;
}

static void py(const char *code) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, PYTHON " -c '%s'", code);
    cr_assert_eq(system(cmd), 0, "python failed: %s", code);
}

static void write_sample(const char *path) {
    st_zip_writer *w;
    st_error err;
    cr_assert_eq(st_zip_writer_open(path, &w, &err), ST_OK, "%s", err.msg);
    float data[100];
    for (int i = 0; i < 100; i++) data[i] = (float)i * 0.5f;
    cr_assert_eq(st_zip_writer_add(w, "top/version", "10\n", 3, &err), ST_OK);
    cr_assert_eq(st_zip_writer_add(w, "top/data/0", data, sizeof data, &err), ST_OK);
    cr_assert_eq(st_zip_writer_add(w, "top/data/1", "", 0, &err), ST_OK);
    cr_assert_eq(st_zip_writer_finish(w, &err), ST_OK, "%s", err.msg);
}

Test(zip, write_then_read_aligned_and_borrowed) {
    const char *p = at("a.zip");
    write_sample(p);
    st_zip *z;
    st_error err;
    cr_assert_eq(st_zip_open(p, &z, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(st_zip_count(z), 3);
    cr_assert_str_eq(st_zip_prefix(z), "top/");
    const st_zip_entry *e = st_zip_find(z, "data/0");
    cr_assert_not_null(e);
    cr_assert_eq(e->data_off % 64, 0, "data at %llu is not 64-byte aligned",
                 (unsigned long long)e->data_off);
    st_buf *owner;
    const uint8_t *d;
    cr_assert_eq(st_zip_read(z, e, &owner, &d, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(owner, st_zip_buf(z), "stored members borrow the mapping");
    cr_assert_eq(((const float *)d)[99], 49.5f);
    st_buf_unref(owner);
    cr_assert_not_null(st_zip_find(z, "data/1"));
    cr_assert_null(st_zip_find(z, "data/2"));
    st_zip_close(z);
    /* Python's zipfile agrees and sees intact CRCs */
    char code[512];
    snprintf(
        code, sizeof code,
        "import zipfile; z=zipfile.ZipFile(\"%s\"); assert z.testzip() is None; assert len(z.read(\"top/data/0\"))==400",
        p);
    py(code);
}

Test(zip, reads_python_deflated_and_any_folder) {
    char code[512];
    snprintf(
        code, sizeof code,
        "import zipfile; z=zipfile.ZipFile(\"%s\",\"w\",zipfile.ZIP_DEFLATED); z.writestr(\"weird name/x.txt\", b\"hello \"*1000); z.writestr(\"weird name/s\", b\"abc\", compress_type=zipfile.ZIP_STORED); z.close()",
        at("py.zip"));
    py(code);
    st_zip *z;
    st_error err;
    cr_assert_eq(st_zip_open(at("py.zip"), &z, &err), ST_OK, "%s", err.msg);
    cr_assert_str_eq(st_zip_prefix(z), "weird name/");
    const st_zip_entry *e = st_zip_find(z, "x.txt");
    cr_assert_not_null(e);
    cr_assert_eq(e->method, 8);
    st_buf *owner;
    const uint8_t *d;
    cr_assert_eq(st_zip_read(z, e, &owner, &d, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(e->size, 6000);
    cr_assert(!memcmp(d + 5994, "hello ", 6));
    st_buf_unref(owner);
    st_zip_close(z);
}

static void expect_refused(const char *path, const char *needle) {
    st_zip *z = NULL;
    st_error err;
    st_status s = st_zip_open(path, &z, &err);
    cr_assert_neq(s, ST_OK, "%s was accepted", path);
    cr_assert_null(z);
    cr_assert(strstr(err.msg, needle), "message \"%s\" lacks \"%s\"", err.msg, needle);
    cr_assert_null(strchr(err.msg, '\n'), "message spans lines: %s", err.msg);
}

Test(zip, refuses_climbing_and_absolute_names) {
    char code[512];
    snprintf(
        code, sizeof code,
        "import zipfile; z=zipfile.ZipFile(\"%s\",\"w\"); z.writestr(\"a/ok\", b\"1\"); z.writestr(\"a/../../etc/x\", b\"2\"); z.close()",
        at("dd.zip"));
    py(code);
    expect_refused(at("dd.zip"), "unsafe member name");
    snprintf(
        code, sizeof code,
        "import zipfile; z=zipfile.ZipFile(\"%s\",\"w\"); z.writestr(zipfile.ZipInfo(\"/abs\"), b\"2\"); z.close()",
        at("abs.zip"));
    py(code);
    expect_refused(at("abs.zip"), "unsafe member name");
}

Test(zip, refuses_absurd_sizes_and_truncation) {
    const char *p = at("s.zip");
    write_sample(p);
    st_buf *b;
    st_error err;
    cr_assert_eq(st_read_file(p, &b, &err), ST_OK);
    uint8_t *d = b->data;
    size_t n = b->size;
    /* the first central directory entry: claim 2 GiB stored */
    size_t cd = 0;
    for (size_t i = 0; i + 4 <= n; i++)
        if (!memcmp(d + i, "PK\x01\x02", 4)) {
            cd = i;
            break;
        }
    cr_assert_gt(cd, 0);
    uint8_t save[8];
    memcpy(save, d + cd + 20, 8);
    memset(d + cd + 20, 0xff, 3), d[cd + 23] = 0x7f;
    memset(d + cd + 24, 0xff, 3), d[cd + 27] = 0x7f;
    cr_assert_eq(st_write_file(at("big.zip"), d, n, &err), ST_OK);
    expect_refused(at("big.zip"), "absurd size");
    memcpy(d + cd + 20, save, 8);
    for (size_t cut = 0; cut < n; cut += 7) { /* every truncation is refused, never a crash */
        cr_assert_eq(st_write_file(at("t.zip"), d, cut, &err), ST_OK);
        st_zip *z = NULL;
        cr_assert_neq(st_zip_open(at("t.zip"), &z, &err), ST_OK, "truncated at %zu accepted", cut);
    }
    st_buf_unref(b);
}

Test(zip, random_mutations_do_not_crash) {
    const char *p = at("m.zip");
    write_sample(p);
    st_buf *b;
    st_error err;
    cr_assert_eq(st_read_file(p, &b, &err), ST_OK);
    srand(7);
    for (int round = 0; round < 300; round++) {
        uint8_t *d = st_malloc(b->size);
        memcpy(d, b->data, b->size);
        for (int k = 0; k < 4; k++) d[(size_t)rand() % b->size] = (uint8_t)rand();
        st_buf *mb = st_buf_new_heap(b->size);
        memcpy(mb->data, d, b->size);
        st_zip *z = NULL;
        if (st_zip_open_buf(mb, "mutated", &z, &err) == ST_OK) {
            for (size_t i = 0; i < st_zip_count(z); i++) {
                st_buf *o;
                const uint8_t *x;
                if (st_zip_read(z, st_zip_entry_at(z, i), &o, &x, &err) == ST_OK) st_buf_unref(o);
            }
            st_zip_close(z);
        }
        st_buf_unref(mb);
        st_free(d);
    }
    st_buf_unref(b);
}
