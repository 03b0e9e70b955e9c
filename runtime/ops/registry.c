/* runtime/ops/registry.c: the operator registry, the concatenation of each family's table.
 * Resolution follows the ONNX rule: the row with the highest `since` not above the
 * model's opset for the domain. */
#include <string.h>

#include "op.h"

#define ST_FAMILIES(X) X(elementwise) X(tensor) X(nn) X(reduce) X(control) X(rnn) X(misc)

#define ST_FAMILY_DECL_(f) extern const st_op_family st_ops_##f;
ST_FAMILIES(ST_FAMILY_DECL_)
#undef ST_FAMILY_DECL_

/* Each family file defines its table and row count together (st_ops_<family>). */
const st_op_family *const st_op_families[] = {
#define ST_FAMILY_ROW_(f) &st_ops_##f,
    ST_FAMILIES(ST_FAMILY_ROW_)
#undef ST_FAMILY_ROW_
};
const size_t st_n_op_families = ST_ARRAY_LEN(st_op_families);

static bool same_domain(const char *a, const char *b) {
    if (!a || !strcmp(a, "ai.onnx")) a = "";
    if (!b || !strcmp(b, "ai.onnx")) b = "";
    return strcmp(a, b) == 0;
}

bool st_ops_known(const char *domain, const char *op_type) {
    return st_ops_find(domain, op_type, INT64_MAX) != NULL;
}

const st_op_def *st_ops_find(const char *domain, const char *op_type, int64_t opset) {
    const st_op_def *best = NULL;
    for (size_t f = 0; f < st_n_op_families; f++) {
        const st_op_family *fam = st_op_families[f];
        for (size_t i = 0; i < fam->n; i++) {
            const st_op_def *d = &fam->ops[i];
            if (!d->op_type || strcmp(d->op_type, op_type) || !same_domain(d->domain, domain))
                continue;
            if (d->since <= opset && (!best || d->since > best->since)) best = d;
        }
    }
    return best;
}
