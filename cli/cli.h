/* cli/cli.h: what the `stele` subcommands share: exit codes, option parsing, input
 * gathering (files or seeded random data), output naming. Uses only include/stele.h. */
#ifndef STELE_CLI_H
#define STELE_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "stele.h"

enum { EXIT_OK = 0, EXIT_CHECK = 1, EXIT_BAD = 2 };

/* Print "stele: <msg>" to stderr; returns EXIT_BAD. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Option parsing: `--name value` or `--name=value`. */
typedef struct cli_args {
    int argc, i;
    char **argv;
    const char *cmd;
} cli_args;
bool cli_opt(cli_args *a, const char *name, const char **value, int *status);
bool cli_flag(cli_args *a, const char *name);
/* The argument that no option took: the MODEL, once; else an unknown option or an
 * unexpected argument (a usage error, returned as the exit status). */
int cli_model_arg(cli_args *a, const char **model_path);
bool cli_parse_int(const char *s, long long min, long long max, long long *out);
/* Try to consume --atol X or --rtol X (non-negative numbers, compare/convert's verification
 * tolerances) into *atol / *rtol; returns true if it did. */
bool cli_tol_opt(cli_args *a, double *atol, double *rtol, int *status);
/* Try to consume one hotspot-report option shared by `profile` and `view`: --top K,
 * --group-by node|op, --json; returns true if it did. */
bool cli_report_opt(cli_args *a, st_profile_report_opts *ro, int *status);

/* Inputs: --input [NAME=]PATH (repeatable), --shape NAME=AxBxC (repeatable), --seed N. */
typedef struct cli_inputs {
    int n_files;
    const char *file_names[256];
    const char *file_paths[256];
    int n_shapes;
    const char *shape_names[256];
    const char *shape_specs[256];
    unsigned long long seed;
} cli_inputs;
/* Try to consume one input-related option; returns true if it did. */
bool cli_inputs_opt(cli_args *a, cli_inputs *in, int *status);
/* Build values for every model input: from files, else seeded random data of the declared
 * type and shape. names[i] point into the model. The caller frees values with
 * st_values_free and names with free(). Prints the error and returns EXIT_BAD on failure. */
int cli_inputs_build(const st_model *m, const char *model_path, const cli_inputs *in,
                     st_value **values, const char ***names, size_t *n);

/* Options' strings cli_inputs_opt allocated. */
void cli_inputs_free(cli_inputs *in);

/* A model loaded, a session on it and its inputs built: what `run` and `profile` start from. */
typedef struct cli_session {
    st_model *m;
    st_session *s;
    st_value *ins;
    const char **names; /* point into the model */
    size_t n_in, n_out;
} cli_session;
/* Load model_path (SavedModel signature may be NULL), open a session with `threads` workers
 * (0 = all cores) and build the inputs. Prints the error and returns EXIT_BAD on failure;
 * cli_session_close frees whatever was made either way. */
int cli_session_open(const char *model_path, const char *signature, int threads,
                     const cli_inputs *in, cli_session *cs);
void cli_session_close(cli_session *cs);

/* "float32[1,3,224,224]" / "float32[N,3,?,?]" for a description. */
void cli_type_str(const st_value_info *vi, char *buf, size_t n);
/* "1x3x224x224" (or "" / "scalar" for rank 0) into dims; 0 on success, -1 if malformed. */
int cli_parse_dims(const char *spec, int64_t *dims, int *ndim);
/* A monotonic clock in milliseconds, for timing runs. */
double cli_now_ms(void);
/* Latency statistics in ms over samples (sorted in place). */
typedef struct cli_latency {
    double median, min, mean, p90, max;
} cli_latency;
cli_latency cli_latency_stats(double *ms, int n);
/* A file-safe name for an output (unique within `taken`, a NULL-terminated list). */
void cli_safe_name(const char *name, char *out, size_t n, char **taken, int n_taken);

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_view(int argc, char **argv);

#endif
