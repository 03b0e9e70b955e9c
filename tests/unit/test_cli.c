/* tests/unit/test_cli.c: the `stele` command as a user runs it — help and version, info
 * (text and JSON), run (outputs written where --json says, latency keys, seeded inputs that
 * repeat), convert, demo, and the exit codes and one-line errors for bad usage and bad
 * files. The binary comes from $STELE (set by ctest). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_util.h"

#ifndef STELE_SOURCE_DIR
#define STELE_SOURCE_DIR "."
#endif
#define MODEL STELE_SOURCE_DIR "/models/shapes.onnx"

typedef struct result {
    int status;
    char out[65536];
    char err[8192];
} result;

/* Run `stele ARGS` through the shell, capturing stdout and stderr. */
static result *run(const char *args) {
    static result r;
    const char *bin = getenv("STELE");
    cr_assert(bin, "STELE is not set (run through ctest)");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s 2>/tmp/stele-cli-test-err.%d", bin, args, (int)getpid());
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t n = fread(r.out, 1, sizeof r.out - 1, p);
    r.out[n] = 0;
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    char ep[64];
    snprintf(ep, sizeof ep, "/tmp/stele-cli-test-err.%d", (int)getpid());
    FILE *e = fopen(ep, "r");
    n = e ? fread(r.err, 1, sizeof r.err - 1, e) : 0;
    r.err[n] = 0;
    if (e) fclose(e);
    unlink(ep);
    return &r;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

Test(cli, help_and_version) {
    result *r = run("--version");
    cr_assert_eq(r->status, 0);
    cr_assert(!strncmp(r->out, "stele ", 6), "%s", r->out);
    r = run("--help");
    cr_assert_eq(r->status, 0);
    for (const char *c = "info\0run\0convert\0demo\0"; *c; c += strlen(c) + 1)
        cr_assert(strstr(r->out, c), "help lacks %s", c);
    const char *cmds[] = {"info", "run", "convert", "demo"};
    for (int i = 0; i < 4; i++) {
        char a[64];
        snprintf(a, sizeof a, "%s --help", cmds[i]);
        r = run(a);
        cr_assert_eq(r->status, 0, "%s", a);
        cr_assert(strstr(r->out, "usage: stele"), "%s: %s", a, r->out);
    }
    r = run("");
    cr_assert_eq(r->status, 2);
    r = run("frobnicate");
    cr_assert_eq(r->status, 2);
    cr_assert(strstr(r->err, "unknown command 'frobnicate'"), "%s", r->err);
}

Test(cli, info_text_and_json) {
    result *r = run("info " MODEL);
    cr_assert_eq(r->status, 0, "%s", r->err);
    cr_assert(strstr(r->out, "pytorch"), "%s", r->out);
    cr_assert(strstr(r->out, "float32[batch,1,32,32]"), "%s", r->out);
    cr_assert(strstr(r->out, "Conv"), "%s", r->out);
    r = run(
        "info --json " MODEL " | /usr/bin/python3 -c \"import json,sys; d=json.load(sys.stdin); "
        "print(d['format'], d['inputs'][0]['shape'], d['op_histogram']['Conv'], d['parameters'] > 30000)\"");
    cr_assert_eq(r->status, 0, "%s", r->err);
    cr_assert_str_eq(r->out, "onnx ['batch', 1, 32, 32] 3 True\n");
}

Test(cli, run_writes_outputs_and_latency) {
    char dir[64];
    ut_tmpdir(dir, sizeof dir, "stele-cli");
    char args[512];
    snprintf(
        args, sizeof args,
        "run " MODEL
        " --seed 7 --runs 3 --warmup 1 --threads 1 --output-dir %s --json | /usr/bin/python3 -c "
        "\"import json,sys; d=json.load(sys.stdin); o=d['outputs'][0]; "
        "print(o['name'], o['dtype'], o['shape'], o['path'].endswith('probabilities.npy'), "
        "sorted(d['latency_ms']), d['latency_ms']['min'] <= d['latency_ms']['median'])\"",
        dir);
    result *r = run(args);
    cr_assert_eq(r->status, 0, "%s", r->err);
    cr_assert_str_eq(r->out,
                     "probabilities float32 [1, 4] True ['mean', 'median', 'min', 'p90'] True\n");
    /* the output file is a real .npy of probabilities; the same seed gives the same bytes */
    char check[1024];
    snprintf(
        check, sizeof check,
        "run " MODEL " --seed 7 --output-dir %s/again >/dev/null && /usr/bin/python3 -c "
        "\"import numpy as np; a=np.load('%s/probabilities.npy'); b=np.load('%s/again/probabilities.npy'); "
        "print(a.shape, abs(a.sum()-1) < 1e-5, (a == b).all())\"",
        dir, dir, dir);
    r = run(check);
    cr_assert_eq(r->status, 0, "%s", r->err);
    cr_assert_str_eq(r->out, "(1, 4) True True\n");
    cr_assert(ut_rmtree(dir));
}

Test(cli, run_with_shape_and_input_errors) {
    result *r = run("run " MODEL " --shape image=3x1x32x32 --json | /usr/bin/python3 -c "
                    "\"import json,sys; print(json.load(sys.stdin)['outputs'][0]['shape'])\"");
    cr_assert_eq(r->status, 0, "%s", r->err);
    cr_assert_str_eq(r->out, "[3, 4]\n");
    r = run("run " MODEL " --shape image=3x1x31x32");
    cr_assert_eq(r->status, 2);
    cr_assert_eq(count_lines(r->err), 1, "%s", r->err);
    r = run("run " MODEL " --input nosuch=/dev/null");
    cr_assert_eq(r->status, 2);
    cr_assert(strstr(r->err, "no input named 'nosuch'"), "%s", r->err);
    r = run("run " MODEL " --runs 0");
    cr_assert_eq(r->status, 2);
    r = run("run " MODEL " --bogus");
    cr_assert_eq(r->status, 2);
    cr_assert(strstr(r->err, "unknown option '--bogus'"), "%s", r->err);
}

Test(cli, bad_files_are_refused_in_one_line) {
    const char *cases[] = {"info /nonexistent/model.onnx", "run /nonexistent/model.onnx",
                           "info /etc/hostname", "run /dev/null",
                           "convert /etc/hostname /tmp/x.onnx"};
    for (int i = 0; i < 5; i++) {
        result *r = run(cases[i]);
        cr_assert_eq(r->status, 2, "%s", cases[i]);
        cr_assert_eq(count_lines(r->err), 1, "%s: %s", cases[i], r->err);
        cr_assert(!strncmp(r->err, "stele: ", 7), "%s: %s", cases[i], r->err);
    }
    /* truncated model */
    result *r = run("info /dev/stdin < /dev/null");
    cr_assert_eq(r->status, 2);
    cr_assert(system("head -c 5000 " MODEL " > /tmp/stele-cli-trunc.onnx") == 0);
    r = run("run /tmp/stele-cli-trunc.onnx");
    cr_assert_eq(r->status, 2);
    cr_assert(strstr(r->err, "stele-cli-trunc.onnx"), "%s", r->err);
    unlink("/tmp/stele-cli-trunc.onnx");
}

Test(cli, convert_round_trip) {
    char dir[64];
    ut_tmpdir(dir, sizeof dir, "stele-cli");
    char args[1024];
    snprintf(args, sizeof args, "convert " MODEL " %s/copy.onnx", dir);
    result *r = run(args);
    cr_assert_eq(r->status, 0, "%s", r->err);
    snprintf(args, sizeof args,
             "run " MODEL
             " --seed 3 -o %s/a >/dev/null && %s run %s/copy.onnx --seed 3 -o %s/b >/dev/null && "
             "cmp %s/a/probabilities.npy %s/b/probabilities.npy && echo same",
             dir, getenv("STELE"), dir, dir, dir, dir);
    r = run(args);
    cr_assert_str_eq(r->out, "same\n", "%s", r->err);
    r = run("convert " MODEL " /tmp/out.unknownext");
    cr_assert_eq(r->status, 2);
    cr_assert(strstr(r->err, "--to"), "%s", r->err);
    cr_assert(ut_rmtree(dir));
}

Test(cli, demo_explains_itself, .timeout = 120) {
    result *r = run("demo --runs 20 --threads 1");
    cr_assert_eq(r->status, 0, "%s", r->err);
    cr_assert(strstr(r->out, "4 of 4 recognised"), "%s", r->out);
    cr_assert(strstr(r->out, "differ by at most 0"), "%s", r->out);
}
