/* tests/unit/test_pickle.c: the pickle VM — values pickled by Python (protocols 2-5) read
 * back, TorchScript's data.pkl shapes (persistent ids, OrderedDict, NEWOBJ + BUILD), our
 * writer's output read by Python's pickletools-free loader under an allow-list, and refusals:
 * globals off the list (os.system, builtins.eval), truncation, mutations. Nothing runs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "pickle/pickle.h"

#define PYTHON "/usr/bin/python3"

static st_pkl *parse_py(st_arena *a, const char *expr, int proto) {
    char cmd[2048], path[64];
    /* one file per process: tests (and other test runs) may run at the same time */
    snprintf(path, sizeof path, "/tmp/st_pkl_test-%ld.bin", (long)getpid());
    snprintf(
        cmd, sizeof cmd,
        PYTHON
        " -c 'import pickle,sys,collections; sys.stdout.buffer.write(pickle.dumps(%s, protocol=%d))' > %s",
        expr, proto, path);
    cr_assert_eq(system(cmd), 0);
    st_buf *b;
    st_error err;
    cr_assert_eq(st_read_file(path, &b, &err), ST_OK);
    unlink(path);
    st_pkl *v = NULL;
    st_status s = st_pkl_parse(b->data, b->size, a, "test", &v, &err);
    st_buf_unref(b);
    cr_assert_eq(s, ST_OK, "%s", err.msg);
    return v;
}

Test(pickle, python_values_every_protocol) {
    for (int proto = 2; proto <= 5; proto++) {
        st_arena *a = st_arena_new(0);
        /* protocol 2 pickles bytes through _codecs.encode, which is rightly refused */
        st_pkl *v = parse_py(
            a,
            proto == 2
                ? "(1, -2, 300, 70000, -(2**40), 2**62, 1.5, \"héllo\", True, None, [1, [2]], {\"k\": (3,)}, \"\")"
                : "(1, -2, 300, 70000, -(2**40), 2**62, 1.5, \"héllo\", True, None, [1, [2]], {\"k\": (3,)}, b\"xy\")",
            proto);
        cr_assert_eq(v->kind, ST_PKL_TUPLE);
        cr_assert_eq(v->n, 13);
        int64_t ints[] = {1, -2, 300, 70000, -(1LL << 40), 1LL << 62};
        for (int i = 0; i < 6; i++)
            cr_assert_eq(v->items[i]->i, ints[i], "proto %d item %d", proto, i);
        cr_assert_float_eq(v->items[6]->f, 1.5, 0);
        cr_assert_str_eq(v->items[7]->s, "h\xc3\xa9llo");
        cr_assert(v->items[8]->b);
        cr_assert_eq(v->items[9]->kind, ST_PKL_NONE);
        cr_assert_eq(v->items[10]->items[1]->items[0]->i, 2);
        cr_assert_eq(st_pkl_get(v->items[11], "k")->items[0]->i, 3);
        cr_assert_eq(v->items[12]->kind, proto == 2 ? ST_PKL_STR : ST_PKL_BYTES);
        st_arena_free(a);
    }
}

Test(pickle, shared_references_via_memo) {
    st_arena *a = st_arena_new(0);
    st_pkl *v = parse_py(a, "(lambda l: (l, l))([1, 2])", 2);
    cr_assert_eq(v->items[0], v->items[1], "memo must share the list");
    st_arena_free(a);
}

static st_status parse_bytes(const char *b, size_t n, st_pkl **v, st_error *err, st_arena *a) {
    return st_pkl_parse((const uint8_t *)b, n, a, "data.pkl", v, err);
}

Test(pickle, refuses_globals_off_the_list) {
    static const char evil[] = "\x80\x02"
                               "cos\nsystem\n"
                               "X\x02\x00\x00\x00ls"
                               "\x85R.";
    st_arena *a = st_arena_new(0);
    st_pkl *v = NULL;
    st_error err;
    cr_assert_eq(parse_bytes(evil, sizeof evil - 1, &v, &err, a), ST_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "os.system"), "%s", err.msg);
    cr_assert_null(v);
    static const char evil2[] = "\x80\x04\x8c\x08"
                                "builtins"
                                "\x8c\x04"
                                "eval"
                                "\x93"
                                "X\x01\x00\x00\x001\x85R.";
    cr_assert_eq(parse_bytes(evil2, sizeof evil2 - 1, &v, &err, a), ST_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "builtins.eval"), "%s", err.msg);
    cr_assert(st_pkl_allowed("torch", "FloatStorage"));
    cr_assert(st_pkl_allowed("__torch__.torch.nn.modules.linear", "Linear"));
    cr_assert(!st_pkl_allowed("__torch___evil", "x"));
    cr_assert(!st_pkl_allowed("torch", "load"));
    st_arena_free(a);
}

/* A TorchScript-shaped value: __torch__.M(state={'w': _rebuild_tensor_v2(persid, ...)}). */
static st_pkl *torch_like(st_arena *a) {
    st_pkl *pid = st_pkl_new(a, ST_PKL_TUPLE), *args = st_pkl_new(a, ST_PKL_TUPLE),
           *pers = st_pkl_new(a, ST_PKL_PERSID);
    st_pkl_push(a, pid, st_pkl_str(a, "storage"));
    st_pkl_push(a, pid, st_pkl_global(a, "torch", "FloatStorage"));
    st_pkl_push(a, pid, st_pkl_str(a, "0"));
    st_pkl_push(a, pid, st_pkl_str(a, "cpu"));
    st_pkl_push(a, pid, st_pkl_int(a, 6));
    pers->args = pid;
    st_pkl *size = st_pkl_new(a, ST_PKL_TUPLE), *stride = st_pkl_new(a, ST_PKL_TUPLE);
    st_pkl_push(a, size, st_pkl_int(a, 2)), st_pkl_push(a, size, st_pkl_int(a, 3));
    st_pkl_push(a, stride, st_pkl_int(a, 3)), st_pkl_push(a, stride, st_pkl_int(a, 1));
    st_pkl_push(a, args, pers), st_pkl_push(a, args, st_pkl_int(a, 0)), st_pkl_push(a, args, size);
    st_pkl_push(a, args, stride), st_pkl_push(a, args, st_pkl_bool(a, false));
    st_pkl_push(a, args,
                st_pkl_call(a, st_pkl_global(a, "collections", "OrderedDict"),
                            st_pkl_new(a, ST_PKL_TUPLE), false));
    st_pkl *t = st_pkl_call(a, st_pkl_global(a, "torch._utils", "_rebuild_tensor_v2"), args, false);
    st_pkl *state = st_pkl_new(a, ST_PKL_DICT);
    st_pkl_set(a, state, st_pkl_str(a, "training"), st_pkl_bool(a, false));
    st_pkl_set(a, state, st_pkl_str(a, "w"), t);
    st_pkl_set(a, state, st_pkl_str(a, "big"), st_pkl_int(a, -5000000000LL));
    st_pkl_set(a, state, st_pkl_str(a, "f"), st_pkl_float(a, -0.25));
    st_pkl *obj =
        st_pkl_call(a, st_pkl_global(a, "__torch__", "M"), st_pkl_new(a, ST_PKL_TUPLE), true);
    obj->state = state;
    return obj;
}

Test(pickle, writer_round_trip_and_python_reads_it) {
    st_arena *a = st_arena_new(0);
    st_buf *b;
    st_error err;
    cr_assert_eq(st_pkl_dump(torch_like(a), &b, &err), ST_OK, "%s", err.msg);
    st_pkl *v = NULL;
    cr_assert_eq(st_pkl_parse(b->data, b->size, a, "rt", &v, &err), ST_OK, "%s", err.msg);
    cr_assert(st_pkl_is_global(v, "__torch__", "M"));
    cr_assert(v->newobj);
    st_pkl *w = st_pkl_get(v->state, "w");
    cr_assert(st_pkl_is_global(w, "torch._utils", "_rebuild_tensor_v2"));
    cr_assert_eq(w->args->items[0]->kind, ST_PKL_PERSID);
    cr_assert_eq(w->args->items[0]->args->items[4]->i, 6);
    cr_assert_eq(st_pkl_get(v->state, "big")->i, -5000000000LL);
    cr_assert_float_eq(st_pkl_get(v->state, "f")->f, -0.25, 0);
    /* Python's Unpickler, with find_class / persistent_load stubbed, reads the same structure */
    cr_assert_eq(st_write_file("/tmp/st_pkl_w.bin", b->data, b->size, &err), ST_OK);
    cr_assert_eq(
        system(
            PYTHON
            " -c '\n"
            "import pickle\n"
            "class U(pickle.Unpickler):\n"
            "    def find_class(self, m, n):\n"
            "        return type(n, (), {}) if m.startswith(\"__torch__\") else (lambda *a: (m, n, a))\n"
            "    def persistent_load(self, pid): return (\"P\",) + pid[2:]\n"
            "v = U(open(\"/tmp/st_pkl_w.bin\",\"rb\")).load()\n"
            "assert type(v).__name__ == \"M\" and v.__dict__[\"big\"] == -5000000000, v.__dict__\n"
            "assert v.__dict__[\"w\"][2][0] == (\"P\", \"0\", \"cpu\", 6), v.__dict__[\"w\"]\n'"),
        0);
    st_buf_unref(b);
    st_arena_free(a);
}

Test(pickle, truncations_and_mutations_are_refused_cleanly) {
    st_arena *a = st_arena_new(0);
    st_buf *b;
    st_error err;
    cr_assert_eq(st_pkl_dump(torch_like(a), &b, &err), ST_OK);
    for (size_t cut = 0; cut < b->size; cut++) {
        st_arena *t = st_arena_new(0);
        st_pkl *v = NULL;
        cr_assert_neq(st_pkl_parse(b->data, cut, t, "cut", &v, &err), ST_OK, "cut at %zu accepted",
                      cut);
        cr_assert_null(strchr(err.msg, '\n'));
        st_arena_free(t);
    }
    srand(3);
    uint8_t *d = st_malloc(b->size);
    for (int round = 0; round < 2000; round++) {
        memcpy(d, b->data, b->size);
        for (int k = 0; k < 3; k++) d[(size_t)rand() % b->size] = (uint8_t)rand();
        st_arena *t = st_arena_new(0);
        st_pkl *v = NULL;
        (void)st_pkl_parse(d, b->size, t, "mutated", &v, &err);
        st_arena_free(t);
    }
    st_free(d);
    st_buf_unref(b);
    st_arena_free(a);
}
