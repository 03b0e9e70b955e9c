/* tests/unit/test_torchscript.c: the TorchScript source parser and printer (every code/ file
 * of archives PyTorch writes parses, and print -> parse -> print is a fixed point), syntax
 * errors with line numbers, and the converter end to end on a small traced archive:
 * import, run against PyTorch's output, export, and torch.jit.load of the export. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "torchscript/tsc.h"
#include "zip/zip.h"

#define PYTHON "/usr/bin/python3"

static char *reprint(const char *src, size_t n) {
    st_arena *a = st_arena_new(0);
    st_tsc_file *f;
    st_error err;
    cr_assert_eq(st_tsc_parse(src, n, a, "src", &f, &err), ST_OK, "%s", err.msg);
    char *out;
    cr_assert_eq(st_tsc_print(f, &out, &err), ST_OK);
    st_arena_free(a);
    return out;
}

Test(torchscript, parse_print_fixed_point) {
    static const char src[] = "class M(Module):\n"
                              "  __parameters__ = [\"w\", ]\n"
                              "  w : Tensor\n"
                              "  __annotations__[\"0\"] = __torch__.torch.nn.modules.conv.Conv2d\n"
                              "  k : Final[Tuple[int, int]] = (3, 3)\n"
                              "  def forward(self: __torch__.M,\n"
                              "    x: Tensor,\n"
                              "    n: int=2) -> Tuple[Tensor, Tensor]:\n"
                              "    _0 = getattr(self, \"0\")\n"
                              "    a, b, = torch.chunk(x, 2, -1)\n"
                              "    y = torch.add(a, CONSTANTS.c0, alpha=-1.5e-05)\n"
                              "    if bool(torch.gt(torch.sum(y), 0)) and not n is None:\n"
                              "      y0 = torch.mul(y, 0.5)\n"
                              "    else:\n"
                              "      y0 = ops.prim.NumToTensor(torch.size(y, -1))\n"
                              "    for i in range(n):\n"
                              "      y0 = -y0 + 2 ** i * (1 - n) // 3\n"
                              "    while _1 < 3:\n"
                              "      _1 += 1\n"
                              "    z = annotate(List[int], [])\n"
                              "    return (y0, x[0, 1:2])\n";
    char *p1 = reprint(src, sizeof src - 1);
    char *p2 = reprint(p1, strlen(p1));
    cr_assert_str_eq(p1, p2);
    cr_assert(strstr(p1, "alpha=-1.5000000000000001e-05") || strstr(p1, "alpha=-1.5e-05"), "%s",
              p1);
    cr_assert(strstr(p1, "-y0 + 2 ** i * (1 - n) // 3"), "%s", p1);
    free(p1);
    free(p2);
}

Test(torchscript, syntax_errors_name_the_line) {
    static const char *bad[] = {
        "class M(Module):\n  def forward(self, x):\n    return torch.add(x,\n",
        "def f(x):\n    y = (1, 2\n",
        "def f(x):\n  if x:\n  return 1\n",
        "def f(x):\n    return 'unterminated\n",
        "def f(x):\n    return x $ 1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        st_arena *a = st_arena_new(0);
        st_tsc_file *f = NULL;
        st_error err;
        cr_assert_eq(st_tsc_parse(bad[i], strlen(bad[i]), a, "code/x.py", &f, &err), ST_ERR_FORMAT,
                     "case %zu parsed", i);
        cr_assert(!strncmp(err.msg, "code/x.py:", 10), "%s", err.msg);
        cr_assert_null(f);
        st_arena_free(a);
    }
    /* deep nesting is refused, not a stack overflow */
    size_t n = 100000;
    char *deep = malloc(n + 32);
    strcpy(deep, "x = ");
    memset(deep + 4, '(', n);
    strcpy(deep + 4 + n, "\n");
    st_arena *a = st_arena_new(0);
    st_tsc_file *f;
    st_error err;
    cr_assert_neq(st_tsc_parse(deep, strlen(deep), a, "deep", &f, &err), ST_OK);
    st_arena_free(a);
    free(deep);
}

static int sh(const char *cmd) { return system(cmd); }

Test(torchscript, every_code_file_pytorch_writes_parses) {
    char dir[] = "/tmp/st_tsc_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[2048], script[128];
    snprintf(script, sizeof script, "%s/gen.py", dir);
    FILE *fp = fopen(script, "w"); /* scripting needs the source in a file */
    cr_assert_not_null(fp);
    fprintf(fp, "import sys, torch, torchvision\n"
                "torch.jit.trace(torchvision.models.mobilenet_v3_small().eval(), "
                "torch.randn(1,3,32,32)).save(sys.argv[1] + \"/m.pt\")\n"
                "class S(torch.nn.Module):\n"
                "    def forward(self, x, n: int):\n"
                "        for i in range(n):\n"
                "            if bool(x.sum() > 0):\n"
                "                x = x - 1.0\n"
                "            else:\n"
                "                x = x * 2.0\n"
                "        return x\n"
                "torch.jit.script(S()).save(sys.argv[1] + \"/s.pt\")\n");
    fclose(fp);
    snprintf(cmd, sizeof cmd, PYTHON " %s %s 2>/dev/null", script, dir);
    if (sh(cmd) != 0) cr_skip_test("PyTorch/torchvision not available under " PYTHON);
    const char *names[] = {"m.pt", "s.pt"};
    for (int k = 0; k < 2; k++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        st_zip *z;
        st_error err;
        cr_assert_eq(st_zip_open(path, &z, &err), ST_OK, "%s", err.msg);
        int files = 0;
        for (size_t i = 0; i < st_zip_count(z); i++) {
            const st_zip_entry *e = st_zip_entry_at(z, i);
            size_t l = strlen(e->rel);
            if (strncmp(e->rel, "code/", 5) || l < 3 || strcmp(e->rel + l - 3, ".py")) continue;
            st_buf *o;
            const uint8_t *d;
            cr_assert_eq(st_zip_read(z, e, &o, &d, &err), ST_OK);
            char *p1 = reprint((const char *)d, e->size);
            char *p2 = reprint(p1, strlen(p1));
            cr_assert_str_eq(p1, p2, "%s does not reprint stably", e->name);
            free(p1);
            free(p2);
            st_buf_unref(o);
            files++;
        }
        cr_assert_gt(files, 0);
        st_zip_close(z);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
}

Test(torchscript, convert_run_and_export_round_trip) {
    const char *stele = getenv("STELE");
    if (!stele || access(stele, X_OK)) cr_skip_test("STELE (the CLI) not set");
    char dir[] = "/tmp/st_tsc_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             PYTHON " -c 'import torch, numpy as np\n"
                    "torch.manual_seed(0)\n"
                    "m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), "
                    "torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4*6*6, 5), "
                    "torch.nn.Softmax(-1)).eval()\n"
                    "x = torch.randn(2, 3, 8, 8)\n"
                    "torch.jit.trace(m, x).save(\"%s/m.pt\")\n"
                    "np.save(\"%s/x.npy\", x.numpy()); np.save(\"%s/want.npy\", "
                    "m(x).detach().numpy())' 2>/dev/null",
             dir, dir, dir);
    if (sh(cmd) != 0) cr_skip_test("PyTorch not available under " PYTHON);
    snprintf(cmd, sizeof cmd,
             "%s run %s/m.pt --input %s/x.npy --output-dir %s/out > /dev/null && %s convert "
             "%s/m.pt %s/back.pt > /dev/null 2>&1",
             stele, dir, dir, dir, stele, dir, dir);
    cr_assert_eq(sh(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd,
             PYTHON " -c 'import torch, numpy as np\n"
                    "want = np.load(\"%s/want.npy\"); got = np.load(\"%s/out/output.npy\")\n"
                    "assert np.abs(got - want).max() < 1e-4, np.abs(got - want).max()\n"
                    "b = torch.jit.load(\"%s/back.pt\")\n"
                    "y = b(torch.from_numpy(np.load(\"%s/x.npy\"))).numpy()\n"
                    "assert np.abs(y - want).max() < 1e-4, np.abs(y - want).max()'",
             dir, dir, dir, dir);
    cr_assert_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
}

/* Out of memory at every allocation of an import and an export: a clean error each time,
 * never a crash (the sanitizer build also checks nothing leaks). */
#include "torchscript/ts_convert.h"

Test(torchscript, out_of_memory_at_every_allocation) {
    char dir[] = "/tmp/st_tsc_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[1024], pt[128], out[128];
    snprintf(pt, sizeof pt, "%s/m.pt", dir);
    snprintf(out, sizeof out, "%s/o.pt", dir);
    snprintf(cmd, sizeof cmd,
             PYTHON " -c 'import torch\n"
                    "m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), "
                    "torch.nn.LayerNorm(3)).eval()\n"
                    "torch.jit.trace(m, torch.randn(2, 4)).save(\"%s\")' 2>/dev/null",
             pt);
    if (sh(cmd) != 0) cr_skip_test("PyTorch not available under " PYTHON);
    st_model *m = NULL;
    st_error err;
    long n;
    for (n = 1; n < 100000; n++) {
        st_alloc_fail_after(n);
        st_status s = st_ts_import(pt, &m, &err);
        st_alloc_fail_after(0);
        if (s == ST_OK) break;
        cr_assert_null(m);
    }
    cr_assert_not_null(m, "import never succeeded");
    for (n = 1; n < 100000; n++) {
        st_alloc_fail_after(n);
        st_status s = st_ts_export(m, out, &err);
        st_alloc_fail_after(0);
        if (s == ST_OK) break;
    }
    cr_assert_lt(n, 100000, "export never succeeded");
    st_model_release(m);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
}

/* Mutated members (code and pickles, rewritten with valid CRCs so they reach the parsers and
 * the interpreter): errors or success, never a crash. */
Test(torchscript, mutated_archives_do_not_crash) {
    char dir[] = "/tmp/st_tsc_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[1024], pt[128], mut[128];
    snprintf(pt, sizeof pt, "%s/m.pt", dir);
    snprintf(mut, sizeof mut, "%s/mut.pt", dir);
    snprintf(cmd, sizeof cmd,
             PYTHON " -c 'import torch\n"
                    "m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), "
                    "torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(16, 3)).eval()\n"
                    "torch.jit.trace(m, torch.randn(1, 3, 4, 4)).save(\"%s\")' 2>/dev/null",
             pt);
    if (sh(cmd) != 0) cr_skip_test("PyTorch not available under " PYTHON);
    st_zip *z;
    st_error err;
    cr_assert_eq(st_zip_open(pt, &z, &err), ST_OK, "%s", err.msg);
    size_t nm = st_zip_count(z);
    uint8_t **data = calloc(nm, sizeof *data);
    size_t *len = calloc(nm, sizeof *len);
    for (size_t i = 0; i < nm; i++) {
        st_buf *o;
        const uint8_t *d;
        cr_assert_eq(st_zip_read(z, st_zip_entry_at(z, i), &o, &d, &err), ST_OK);
        len[i] = st_zip_entry_at(z, i)->size;
        data[i] = malloc(len[i] + 1);
        memcpy(data[i], d, len[i]);
        st_buf_unref(o);
    }
    srand(11);
    for (int round = 0; round < 150; round++) {
        st_zip_writer *w;
        cr_assert_eq(st_zip_writer_open(mut, &w, &err), ST_OK);
        for (size_t i = 0; i < nm; i++) {
            const st_zip_entry *e = st_zip_entry_at(z, i);
            bool target = strstr(e->rel, ".py") || strstr(e->rel, ".pkl");
            uint8_t *copy = malloc(len[i] + 1);
            memcpy(copy, data[i], len[i]);
            if (target && len[i] && rand() % 3 == 0)
                for (int k = 0; k < 1 + rand() % 3; k++)
                    copy[(size_t)rand() % len[i]] =
                        (uint8_t) " ()[],:.=_abcxyz0129\n\x80K"[rand() % 23];
            cr_assert_eq(st_zip_writer_add(w, e->name, copy, len[i], &err), ST_OK);
            free(copy);
        }
        cr_assert_eq(st_zip_writer_finish(w, &err), ST_OK);
        st_model *m = NULL;
        if (st_ts_import(mut, &m, &err) == ST_OK) st_model_release(m);
        else cr_assert_null(strchr(err.msg, '\n'), "message spans lines: %s", err.msg);
    }
    for (size_t i = 0; i < nm; i++) free(data[i]);
    free(data);
    free(len);
    st_zip_close(z);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
}

/* Every table of the converter against the operator registry: the aten import table and the
 * list of IR ops the importer emits, the export table, and the mappings both directions
 * share. Sorted (lookups are binary searches), no duplicate row, every IR op registered. */
#include "op.h"
#include "torchscript/ts_internal.h"

Test(torchscript, tables_match_the_operator_registry) {
    size_t n;
    const st_ts_op_def *imp = st_ts_optab_rows(&n);
    cr_assert_gt(n, 100);
    for (size_t i = 0; i < n; i++) {
        cr_assert_not_null(imp[i].fn, "aten::%s has no handler", imp[i].name);
        cr_assert_eq(st_ts_optab_find(imp[i].name), &imp[i], "aten::%s not found", imp[i].name);
        if (i)
            cr_assert_lt(strcmp(imp[i - 1].name, imp[i].name), 0, "import rows %s, %s out of order",
                         imp[i - 1].name, imp[i].name);
    }
    const char *const *emits = st_ts_emitted_ops(&n);
    for (size_t i = 0; i < n; i++) {
        cr_assert(st_ops_known("", emits[i]), "the importer emits %s, which is not registered",
                  emits[i]);
        cr_assert(st_ts_emits(emits[i]));
        if (i)
            cr_assert_lt(strcmp(emits[i - 1], emits[i]), 0, "%s, %s out of order", emits[i - 1],
                         emits[i]);
    }
    cr_assert_not(st_ts_emits("NoSuchOp"));
    const st_ts_export_row *ex = st_ts_export_rows(&n);
    cr_assert_gt(n, 80);
    for (size_t i = 0; i < n; i++) {
        cr_assert(st_ops_known("", ex[i].op), "export row %s names no registered op", ex[i].op);
        cr_assert_not_null(ex[i].emit, "export row %s has no emitter", ex[i].op);
        if (i)
            cr_assert_lt(strcmp(ex[i - 1].op, ex[i].op), 0, "export rows %s, %s out of order",
                         ex[i - 1].op, ex[i].op);
    }
    /* a mapping that is the same both ways: the import row exists, the export row calls it */
#define CHECK_BOTH_WAYS(O, A)                                                        \
    do {                                                                             \
        cr_assert_not_null(st_ts_optab_find(#A), "no import row aten::" #A);         \
        cr_assert(st_ts_emits(#O), "the importer never emits " #O);                  \
        const st_ts_export_row *r = NULL;                                            \
        for (size_t i = 0; i < n; i++)                                               \
            if (!strcmp(ex[i].op, #O)) r = &ex[i];                                   \
        cr_assert(r && r->aten && !strcmp(r->aten, #A), "export row " #O " != " #A); \
    } while (0);
    ST_TS_UNARY_MAP(CHECK_BOTH_WAYS)
    ST_TS_BINARY_MAP(CHECK_BOTH_WAYS)
#undef CHECK_BOTH_WAYS
}

/* TorchScript never states an input's rank. A scripted model that transposes its last two
 * dims and unpacks its sizes: the importer reads the archive once and fixes x's rank at the
 * first op that needs it (2, from the dims transpose indexes), which size() then agrees with. */
Test(torchscript, input_rank_decided_once_in_one_pass) {
    char dir[] = "/tmp/st_tsc_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[1024], pt[128], py[128];
    snprintf(pt, sizeof pt, "%s/m.pt", dir);
    snprintf(py, sizeof py, "%s/gen.py", dir); /* torch.jit.script reads the source file */
    FILE *f = fopen(py, "w");
    cr_assert_not_null(f);
    fprintf(f, "import torch, sys\n"
               "class M(torch.nn.Module):\n"
               "    def forward(self, x, y):\n"
               "        t = torch.transpose(x, -2, -1)\n"
               "        a, b = x.size()\n"
               "        return t * b + y.sum(-1, keepdim=True)\n"
               "torch.jit.script(M()).save(sys.argv[1])\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, PYTHON " %s %s 2>/dev/null", py, pt);
    if (sh(cmd) != 0) cr_skip_test("PyTorch not available under " PYTHON);
    st_model *m = NULL;
    st_error err;
    st_ts_import_info info = {-1};
    cr_assert_eq(st_ts_import_ex(pt, NULL, 0, &m, &info, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(info.n_rank_decisions, 1, "decided %d ranks", info.n_rank_decisions);
    const st_graph *g = m->graph;
    cr_assert_eq(g->n_inputs, 2);
    cr_assert_eq(g->values[g->inputs[0]].type.rank, 2); /* x: decided where transpose needed it */
    st_model_release(m);
    /* with x's shape bound (`--shape x=3x4`) nothing is decided and the dims are x's */
    const int64_t dims[2] = {3, 4};
    const st_infer_bind bind = {"x", 2, dims};
    cr_assert_eq(st_ts_import_ex(pt, &bind, 1, &m, &info, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(info.n_rank_decisions, 0);
    g = m->graph;
    cr_assert_eq(g->values[g->inputs[0]].type.rank, 2);
    cr_assert_eq(g->values[g->inputs[0]].type.dims[0].value, 3);
    cr_assert_eq(g->values[g->inputs[0]].type.dims[1].value, 4);
    st_model_release(m);
    const st_infer_bind wrong = {"nope", 2, dims};
    cr_assert_eq(st_ts_import_ex(pt, &wrong, 1, &m, &info, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "nope"), "%s", err.msg);
    cr_assert_eq(st_ts_import_ex(pt, &wrong, 1, &m, &info, NULL), ST_ERR_INVALID);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
}
