/* tests/install/hello.c: the 10-line program of issue 16, built with `pkg-config --cflags
 * --libs stele` against an installed stele: load a model, run it, print its first output. */
#include <stdio.h>
#include <stele.h>
int main(int argc, char **argv) {
    st_error err;
    st_model *m;
    st_session *s;
    st_value *out;
    st_value in = {.kind = ST_VAL_TENSOR};
    int64_t dims[] = {1, 1, 32, 32};
    if (argc != 2 || st_model_load(argv[1], NULL, &m, &err) || st_session_new(m, NULL, &s, &err) ||
        st_tensor_alloc(&in.tensor, ST_DTYPE_F32, 4, dims, &err) ||
        st_session_run(s, 1, NULL, &in, &out, &err))
        return fprintf(stderr, "%s\n", err.msg), 2;
    const float *p = out[0].tensor.data;
    printf("%.6f %.6f %.6f %.6f\n", p[0], p[1], p[2], p[3]);
    st_values_free(out, st_session_n_outputs(s));
    st_value_clear(&in);
    st_session_free(s);
    st_model_free(m);
    return 0;
}
