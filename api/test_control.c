/* api/test_control.c: st_test_control, hooks for stele's own tests in the manner of
 * sqlite3_test_control; compiled only with STELE_TEST_HOOKS (a test build). It never reads
 * the environment: a test program or the test build's CLI arms a fault explicitly. */
#ifdef STELE_TEST_HOOKS
#include <math.h>
#include <stdarg.h>

#include "ir.h"
#include "test_control.h"

/* The fault the next st_model_save on this thread applies. Thread-local and one-shot, so a
 * hook armed by one test cannot leak into another thread's or a later save. */
static _Thread_local st_testfault armed_fault = ST_TESTFAULT_NONE;

st_status st_test_control(int op, ...) {
    va_list ap;
    va_start(ap, op);
    st_status s = ST_OK;
    switch (op) {
    case ST_TESTCTRL_SAVE_FAULT: {
        int fault = va_arg(ap, int);
        if (fault < 0 || fault >= ST_TESTFAULT_COUNT) s = ST_ERR_INVALID;
        else armed_fault = (st_testfault)fault;
        break;
    }
    default: s = ST_ERR_INVALID; break;
    }
    va_end(ap);
    return s;
}

/* ST_TESTFAULT_PERTURB_FIRST_WEIGHT: the first floating-point initializer of the main graph
 * has element 0 changed (+1, or x2 when |x| >= 1) for the duration of the save, so tests
 * can prove that convert's verification catches a wrong conversion. */
typedef struct st_api_fault {
    st_ir_value *v;  /* the perturbed initializer */
    st_tensor saved; /* its original tensor */
} st_api_fault;

st_status st_api_fault_begin(const st_model *m, void **token, st_error *err) {
    st_testfault fault = armed_fault;
    armed_fault = ST_TESTFAULT_NONE;
    *token = NULL;
    if (fault != ST_TESTFAULT_PERTURB_FIRST_WEIGHT || !m || !m->graph) return ST_OK;
    st_graph *g = m->graph;
    for (size_t v = 0; v < g->n_values; v++) {
        st_ir_value *iv = &g->values[v];
        if (!iv->has_const || iv->role != ST_VALUE_INITIALIZER ||
            !st_dtype_is_float(iv->const_val.dtype) || st_tensor_nelem(&iv->const_val) == 0)
            continue;
        st_api_fault *f = st_calloc(1, sizeof *f);
        if (!f) return st_error_nomem(err);
        st_tensor copy;
        st_status st = st_tensor_copy(&copy, &iv->const_val, err);
        if (st) {
            st_free(f);
            return st;
        }
        double x = st_tensor_get_f64(&copy, 0);
        st_tensor_set_f64(&copy, 0, fabs(x) >= 1 ? x * 2 : x + 1);
        f->v = iv;
        f->saved = iv->const_val;
        iv->const_val = copy;
        *token = f;
        return ST_OK;
    }
    return ST_OK;
}

void st_api_fault_end(void *token) {
    st_api_fault *f = token;
    if (!f) return;
    st_tensor_clear(&f->v->const_val);
    f->v->const_val = f->saved;
    st_free(f);
}

#else
/* release build: no test hooks (ISO C wants a translation unit to declare something) */
typedef int st_api_no_test_hooks;
#endif
