/* cli/cmd_view.c: `stele view` — present a saved trace (from `stele profile --trace`, a
 * logdir's *.pt.trace.json, or any Chrome/Kineto trace with `cpu_op` events) as a hotspot
 * table again, grouped by node or op type, without rerunning the model. The library reads
 * the trace and formats the table, the same one `stele profile` prints; this only parses
 * options and prints. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char view_help[] =
    "usage: stele view TRACE.json [--group-by node|op] [--top K] [--json]\n\n"
    "Summarise a trace written by `stele profile --trace` (or a *.pt.trace.json from a\n"
    "logdir, or a PyTorch profiler trace): one row per node or operator type with calls,\n"
    "total and mean time, share of the profiled steps, FLOP rate and counters: the\n"
    "table `stele profile` prints.\n\n"
    "options:\n"
    "  --group-by node|op    rows per node (default) or per operator type\n"
    "  --top K               show the K most expensive rows (default 25, 0 = all)\n"
    "  --json                print the rows as JSON\n"
    "  -h, --help            show this help\n\n"
    "To look at the trace itself, open it in https://ui.perfetto.dev; for a logdir, run\n"
    "`tensorboard --logdir DIR`.\n";

int cmd_view(int argc, char **argv) {
    cli_args a = {argc, 1, argv, "view"};
    const char *path = NULL;
    st_profile_report_opts ro = st_profile_report_opts_default();
    ro.top = 25;
    int status = 0;
    for (; a.i < argc && !status; a.i++) {
        if (cli_flag(&a, "-h") || cli_flag(&a, "--help")) {
            fputs(view_help, stdout);
            return EXIT_OK;
        }
        if (!cli_report_opt(&a, &ro, &status)) status = cli_model_arg(&a, &path);
    }
    if (status) return status;
    if (!path) return cli_usage_error("view", "no TRACE given");
    ro.model = path;
    st_error err;
    char *report = NULL;
    if (st_profile_trace_report(path, &ro, &report, &err)) return cli_fail("%s", err.msg);
    if (ro.json) {
        fputs(report, stdout);
        putchar('\n');
    } else {
        printf("stele view %s: by %s\n\n", path,
               ro.group_by == ST_PROFILE_BY_OP ? "op type" : "node");
        fputs(report, stdout);
    }
    st_string_free(report);
    return EXIT_OK;
}
