/* converters/torchscript/ts_tables.h: the converter's op tables as data, for the code that
 * walks them and for the unit test that checks them against the operator registry (sorted,
 * no duplicate, every IR op registered). No behaviour lives here. */
#ifndef ST_TS_TABLES_H
#define ST_TS_TABLES_H

#include "ir.h"

/* Export: one row per IR operator with a TorchScript form (ts_export.c). */
struct st_ts_ex;
typedef st_status (*st_ts_emit_fn)(struct st_ts_ex *e, const st_graph *g, const st_node *n, int d,
                                   const char *aten);
typedef struct st_ts_export_row {
    const char *op;     /* IR op_type (default domain) */
    st_ts_emit_fn emit; /* writes the node's TorchScript statements */
    const char *aten;   /* the aten op a generic emitter (unary, binary...) calls, or NULL */
    int out; /* how the exporter types the outputs the IR leaves unknown (ts_export.c OUT_*) */
} st_ts_export_row;
const st_ts_export_row *st_ts_export_rows(size_t *n);

/* Import: aten name -> handler rows (ts_optab.c), and every IR op the importer may emit
 * (st_ts_op refuses any other). */
typedef struct st_ts_op_def st_ts_op_def;
const st_ts_op_def *st_ts_optab_rows(size_t *n);
const char *st_ts_optab_name(const st_ts_op_def *row);
const char *const *st_ts_emitted_ops(size_t *n);
bool st_ts_emits(const char *op_type);

/* IR ops whose TorchScript spelling is the same aten op both ways (import row `aten` emits
 * `op`; export row `op` calls `aten`): X(op, aten). */
/* clang-format off */
#define ST_TS_UNARY_MAP(X) \
    X(Abs, abs) X(Ceil, ceil) X(Cos, cos) X(Erf, erf) X(Exp, exp) X(Floor, floor)                \
    X(HardSwish, hardswish) X(Log, log) X(Neg, neg) X(Not, logical_not)                          \
    X(Reciprocal, reciprocal) X(Relu, relu) X(Round, round) X(Sigmoid, sigmoid) X(Sign, sign)    \
    X(Sin, sin) X(Softplus, softplus) X(Sqrt, sqrt) X(Tanh, tanh)
#define ST_TS_BINARY_MAP(X) \
    X(Add, add) X(And, logical_and) X(Equal, eq) X(Greater, gt) X(GreaterOrEqual, ge)            \
    X(Less, lt) X(LessOrEqual, le) X(MatMul, matmul) X(Mul, mul) X(Or, logical_or) X(Pow, pow)   \
    X(Sub, sub) X(Xor, logical_xor)
/* clang-format on */

#endif
