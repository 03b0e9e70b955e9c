/* runtime/exec/exec.h: sessions, graph executors and the thread pool. A session owns one
 * executor per graph it runs (the main graph and each subgraph, created on first use), a
 * thread pool, and the planned arena of each executor. */
#ifndef ST_EXEC_H
#define ST_EXEC_H

#include "op.h"

st_status st_pool_new(int threads, st_pool **out, st_error *err);
void st_pool_free(st_pool *p);

/* Resolve every node of the model (and of its subgraphs) to its op row; nodes whose op
 * the runtime lacks keep def == NULL. */
void st_ops_resolve(st_model *m);
/* ST_ERR_UNSUPPORTED listing every missing (domain, op) with its count, or ST_OK. */
st_status st_ops_check(const st_model *m, st_error *err);

typedef struct st_gexec st_gexec;

#endif
