/* cli/compare.h: the comparison engine shared by `stele compare` and `stele convert`'s
 * verification: run a model on given inputs, pair two lists of outputs by name (else by
 * position) and measure their differences, and print the one-line verdict. Uses only
 * include/stele.h. */
#ifndef STELE_CLI_COMPARE_H
#define STELE_CLI_COMPARE_H

#include "cli.h"

/* One side of a comparison: a model's (or reference data's) named output values. */
typedef struct cmp_side {
    const char *path;  /* what the user named */
    const char *label; /* "stele", "onnxruntime", "reference" */
    st_model *m;       /* NULL for reference data and onnxruntime */
    st_session *s;
    size_t n;
    char **names;   /* owned copies */
    st_value *vals; /* owned (st_values_free) */
} cmp_side;
void cmp_side_clear(cmp_side *sd);

/* Load sd->path (any model format) and make a session; keep: keep intermediates.
 * Returns EXIT_OK or prints the error and returns EXIT_BAD. */
int cmp_side_load(cmp_side *sd, bool keep, int threads);
/* Run sd's session on inputs given by name (matched to the model's inputs by name, else by
 * position; numeric inputs are converted to the model's declared type when it differs). */
int cmp_side_run(cmp_side *sd, size_t n_in, const char *const *in_names, const st_value *ins);

/* One compared pair. */
typedef struct cmp_pair {
    char name[256];              /* A's name (with "[k]" for sequence elements) */
    char ref_name[256];          /* B's name, "" when B has no counterpart */
    char a_desc[96], b_desc[96]; /* "float32[1,10]" */
    st_compare_stats st;
    char worst_at[128]; /* the worst element's index, "[0,2,5]" */
    bool missing;       /* one side lacks the value, or kinds differ */
    char note[512];     /* why, when missing */
    bool ok;
} cmp_pair;

typedef struct cmp_result {
    size_t n;
    cmp_pair *pairs;
    bool ok;
} cmp_result;
/* Pair a's values with b's (by name when every name of a is found in b, else by
 * position) and compare them. Returns EXIT_OK or EXIT_BAD (out of memory). */
int cmp_sides(const cmp_side *a, const cmp_side *b, double atol, double rtol, cmp_result *out);
void cmp_result_free(cmp_result *r);
/* Compare two values into pair p (sequences: the first differing element decides). */
void cmp_values(const st_value *a, const st_value *b, double atol, double rtol, cmp_pair *p);

/* "float32[1,3,224,224]" for a value. */
void cmp_value_desc(const st_value *v, char *buf, size_t n);

/* --per-node: A's nodes in running order, each matched to an intermediate of B. */
typedef struct cmp_node_row {
    const char *node, *op_type; /* A's node (borrowed from A's model) */
    const char *output;         /* A's output reported (its worst) */
    const char *ref_output;     /* B's value it was matched to */
    bool matched, by_name;      /* by_name: same value name; else same op, same ordinal */
    cmp_pair pair;
} cmp_node_row;

typedef struct cmp_pernode {
    size_t n; /* rows: one per A node */
    cmp_node_row *rows;
    size_t by_name, by_structure, unmatched;
    long first;    /* row of the first node beyond tolerance, -1 none */
    size_t n_path; /* rows from `first` to the output it reaches */
    size_t *path;
    const char *path_output; /* that output's name */
} cmp_pernode;
/* Match and compare intermediates of two kept-intermediate sessions after their runs.
 * Returns EXIT_OK or prints the error and returns EXIT_BAD. */
int cmp_pernode_build(const cmp_side *a, const cmp_side *b, double atol, double rtol,
                      cmp_pernode *out);
void cmp_pernode_free(cmp_pernode *p);

/* Everything a report shows. */
typedef struct cmp_report {
    const char *a_path, *b_path, *a_label, *b_label;
    double atol, rtol;
    unsigned long long seed;
    bool random_inputs; /* some inputs were seeded random data */
    const cmp_result *res;
    const cmp_pernode *pn; /* NULL without --per-node */
} cmp_report;
/* Print the JSON report to stdout. */
int cmp_report_json(const cmp_report *r);
/* Write a self-contained HTML report. */
int cmp_report_html(const cmp_report *r, const char *path);
/* "1.23e-05" / "0" for a double, into buf. */
const char *cmp_num(double x, char *buf, size_t n);

#endif
