/* tests/api/shared_run.c: a program linked against libstele.so (never the static library)
 * loads models/shapes.onnx, runs a square and a circle and checks the probabilities, so the
 * shared library is known to carry a working API. It reaches nothing below stele.h. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stele.h"

#define CHECK(c, ...)                                    \
    do {                                                 \
        if (!(c)) {                                      \
            fprintf(stderr, "shared_run: " __VA_ARGS__); \
            fputc('\n', stderr);                         \
            return 1;                                    \
        }                                                \
    } while (0)

static int run(st_session *s, const st_value *in, float probs[2][4]) {
    st_error err;
    st_value *outs;
    CHECK(st_session_run(s, 1, NULL, in, &outs, &err) == ST_OK, "run: %s", err.msg);
    const st_tensor *t = &outs[0].tensor;
    int ok = outs[0].kind == ST_VAL_TENSOR && t->dtype == ST_DTYPE_F32 && t->ndim == 2 &&
             t->dims[0] == 2 && t->dims[1] == 4;
    if (ok) memcpy(probs, t->data, sizeof(float[2][4]));
    st_values_free(outs, st_session_n_outputs(s));
    CHECK(ok, "output is not float32[2,4]");
    return 0;
}

int main(int argc, char **argv) {
    CHECK(argc == 2, "usage: shared_run MODEL");
    /* the API really comes from the shared object */
    Dl_info info;
    CHECK(dladdr((void *)st_model_load, &info) && info.dli_fname &&
              strstr(info.dli_fname, "libstele.so"),
          "st_model_load resolved from %s, not libstele.so", info.dli_fname);

    st_error err;
    st_model *m;
    CHECK(st_model_load(argv[1], NULL, &m, &err) == ST_OK, "load: %s", err.msg);
    CHECK(st_model_format(m) == ST_FORMAT_ONNX && st_model_n_inputs(m) == 1, "not shapes.onnx");
    st_session *s;
    st_session_opts so = st_session_opts_default();
    so.threads = 1;
    CHECK(st_session_new(m, &so, &s, &err) == ST_OK, "session: %s", err.msg);

    st_value in = {.kind = ST_VAL_TENSOR};
    int64_t dims[] = {2, 1, 32, 32};
    CHECK(st_tensor_alloc(&in.tensor, ST_DTYPE_F32, 4, dims, &err) == ST_OK, "%s", err.msg);
    float *x = in.tensor.data;
    for (int i = 0; i < 32 * 32; i++) {
        int r = i / 32, c = i % 32;
        x[i] = (r >= 8 && r < 24 && c >= 8 && c < 24) ? 1.0f : 0.0f; /* a filled square */
        x[1024 + i] = (r - 16) * (r - 16) + (c - 16) * (c - 16) < 100 ? 1.0f : 0.0f; /* a disc */
    }
    float p[2][4], q[2][4];
    int rc = run(s, &in, p) || run(s, &in, q);
    for (int b = 0; b < 2 && !rc; b++) {
        double sum = 0;
        for (int k = 0; k < 4; k++) {
            if (!(p[b][k] >= 0 && p[b][k] <= 1)) rc = 1;
            sum += p[b][k];
        }
        if (fabs(sum - 1) > 1e-5) rc = 1;
        printf("image %d: %.6f %.6f %.6f %.6f\n", b, p[b][0], p[b][1], p[b][2], p[b][3]);
    }
    if (!rc && memcmp(p, q, sizeof p)) rc = 1; /* the planned second run agrees bit for bit */
    /* the classes of scripts/make-demo-model: 0 circle, 1 square, 2 triangle, 3 cross */
    if (!rc && !(p[0][1] > 0.9f && p[1][0] > 0.9f)) rc = 1;
    st_value_clear(&in);
    st_session_free(s);
    st_model_free(m);
    CHECK(!rc, "expected stable probability rows naming a square and a circle");
    printf("shared_run: ok\n");
    return 0;
}
