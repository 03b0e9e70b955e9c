/* tests/unit/test_savedmodel.c: the tensor-bundle table (CRC32C, prefix-compressed blocks,
 * Snappy blocks of the TF fixtures), bundle writer/reader, unknown protobuf fields kept for
 * round trips, checksum failures, the exported SavedModel compared field by field with
 * the TF-written half_plus_three, and the converter's op tables against the registry. Fixtures:
 * $STELE_SAVEDMODEL_FIXTURES or
 * ../shared/fixtures/savedmodel beside the source tree (skipped, loudly, when absent). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir.h"
#include "op.h"
#include "savedmodel/tf_bundle.h"
#include "savedmodel/tf_convert.h"
#include "unit_util.h"

static const char *fixtures(void) {
    static char buf[3000];
    const char *e = getenv("STELE_SAVEDMODEL_FIXTURES");
    if (e && *e) return e;
    snprintf(buf, sizeof buf, "%.2900s/../shared/fixtures/savedmodel", STELE_SOURCE_DIR);
    return buf;
}

static bool have(const char *rel, char *out, size_t n) {
    int w = snprintf(out, n, "%.3000s/%.900s", fixtures(), rel);
    if (w < 0 || (size_t)w >= n) return false;
    if (access(out, R_OK) == 0) return true;
    fprintf(stderr, "SKIPPED: SavedModel fixture %s not found (set STELE_SAVEDMODEL_FIXTURES)\n",
            out);
    return false;
}

static char *tmpdir(void) {
    static char t[64];
    return ut_tmpdir(t, sizeof t, "stele-sm");
}

Test(savedmodel, crc32c_and_mask) {
    cr_assert_eq(st_crc32c(0, "123456789", 9), 0xE3069283u);
    uint32_t c = st_crc32c(0, "hello", 5);
    cr_assert_eq(st_crc32c_unmask(st_crc32c_mask(c)), c);
    cr_assert_neq(st_crc32c_mask(c), c);
    /* incremental == one shot */
    cr_assert_eq(st_crc32c(st_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

Test(savedmodel, table_round_trip_with_prefixes_and_restarts) {
    char *d = tmpdir(), path[128];
    snprintf(path, sizeof path, "%s/t.index", d);
    st_tf_kv kv[40];
    char keys[40][32], vals[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(keys[i], sizeof keys[i], "layer_%02d/kernel", i);
        snprintf(vals[i], sizeof vals[i], "value-%d", i * 7);
        kv[i] = (st_tf_kv){keys[i], strlen(keys[i]), (uint8_t *)vals[i], strlen(vals[i])};
    }
    st_error err;
    cr_assert_eq(st_tf_table_write(path, kv, 40, &err), ST_OK, "%s", err.msg);
    st_tf_kv *got;
    size_t n;
    cr_assert_eq(st_tf_table_read(path, &got, &n, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(n, 40);
    for (int i = 0; i < 40; i++) {
        cr_assert_str_eq(got[i].key, keys[i]);
        cr_assert_eq(got[i].value_len, strlen(vals[i]));
        cr_assert(!memcmp(got[i].value, vals[i], got[i].value_len));
    }
    st_tf_kvs_free(got, n);
    /* one flipped bit in the data block: the block CRC catches it */
    FILE *f = fopen(path, "r+b");
    fseek(f, 5, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 5, SEEK_SET);
    fputc(ch ^ 4, f);
    fclose(f);
    cr_assert_eq(st_tf_table_read(path, &got, &n, &err), ST_ERR_FORMAT);
    cr_assert(strstr(err.msg, "checksum"), "%s", err.msg);
    unlink(path);
    rmdir(d);
}

/* The fixture's index uses Snappy data blocks; rewriting it uncompressed keeps every entry. */
Test(savedmodel, snappy_fixture_index_rewritten) {
    char p[4096];
    if (!have("half_plus_two_cpu/00000123/variables/variables.index", p, sizeof p))
        cr_skip_test("fixtures absent");
    st_error err;
    st_tf_kv *kv, *kv2;
    size_t n, n2;
    cr_assert_eq(st_tf_table_read(p, &kv, &n, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(n, 6); /* header + a, a2, b, c, c2 */
    cr_assert_str_eq(kv[0].key, "");
    cr_assert_str_eq(kv[1].key, "a");
    char *d = tmpdir(), out[128];
    snprintf(out, sizeof out, "%s/re.index", d);
    cr_assert_eq(st_tf_table_write(out, kv, n, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(st_tf_table_read(out, &kv2, &n2, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(n2, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(kv2[i].key, kv[i].key);
        cr_assert_eq(kv2[i].value_len, kv[i].value_len);
        cr_assert(!memcmp(kv2[i].value, kv[i].value, kv[i].value_len));
    }
    st_tf_kvs_free(kv, n);
    st_tf_kvs_free(kv2, n2);
    unlink(out);
    rmdir(d);
}

Test(savedmodel, bundle_write_read_and_corruption) {
    char *d = tmpdir(), prefix[128], path[160];
    snprintf(prefix, sizeof prefix, "%s/variables", d);
    float w[6] = {1, 2, 3, 4, 5, 6};
    int64_t dims[2] = {2, 3}, one = 1;
    int32_t k = 7;
    st_tf_bundle_item items[2] = {{"w", 1, 2, dims, w, sizeof w}, {"k", 3, 1, &one, &k, sizeof k}};
    st_error err;
    cr_assert_eq(st_tf_bundle_write(prefix, items, 2, &err), ST_OK, "%s", err.msg);
    st_tf_bundle *b;
    cr_assert_eq(st_tf_bundle_open(prefix, &b, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(st_tf_bundle_count(b), 2);
    cr_assert_str_eq(st_tf_bundle_key(b, 0), "k"); /* sorted */
    const Stele__Tf__BundleEntryProto *e = st_tf_bundle_entry(b, "w");
    cr_assert_not_null(e);
    cr_assert_eq(e->dtype, 1);
    cr_assert_eq(e->shape->n_dim, 2);
    cr_assert_eq(e->shape->dim[1]->size, 3);
    cr_assert_eq(e->size, (int64_t)sizeof w);
    const uint8_t *data;
    size_t size;
    st_buf *buf;
    cr_assert_eq(st_tf_bundle_data(b, "w", &data, &size, &buf, &err), ST_OK, "%s", err.msg);
    cr_assert(!memcmp(data, w, sizeof w));
    st_buf_unref(buf);
    st_tf_bundle_free(b);
    /* flip a bit of "w" in the data shard */
    snprintf(path, sizeof path, "%s.data-00000-of-00001", prefix);
    FILE *f = fopen(path, "r+b");
    fseek(f, 6, SEEK_SET); /* inside "w", written first */
    fputc(0x55, f);
    fclose(f);
    cr_assert_eq(st_tf_bundle_open(prefix, &b, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(st_tf_bundle_data(b, "w", &data, &size, &buf, &err), ST_ERR_FORMAT);
    cr_assert(strstr(err.msg, "checksum") && strstr(err.msg, "\"w\""), "%s", err.msg);
    cr_assert_eq(st_tf_bundle_data(b, "k", &data, &size, &buf, &err), ST_OK, "%s", err.msg);
    st_buf_unref(buf);
    st_tf_bundle_free(b);
    unlink(path);
    snprintf(path, sizeof path, "%s.index", prefix);
    unlink(path);
    rmdir(d);
}

/* Unknown fields (everything stele does not declare) survive unpack -> pack. */
Test(savedmodel, unknown_fields_survive) {
    char dir[4096], p[4200];
    if (!have("half_plus_two_tf2_cpu/00000123", dir, sizeof dir)) cr_skip_test("fixtures absent");
    snprintf(p, sizeof p, "%.4000s/saved_model.pb", dir);
    st_buf *f;
    st_error err;
    cr_assert_eq(st_read_file(p, &f, &err), ST_OK);
    Stele__Tf__SavedModel *sm = stele__tf__saved_model__unpack(NULL, f->size, f->data);
    cr_assert_not_null(sm);
    const Stele__Tf__SavedObjectGraph *og = sm->meta_graphs[0]->object_graph_def;
    cr_assert_not_null(og);
    size_t unknown = 0;
    for (size_t i = 0; i < og->n_nodes; i++) unknown += og->nodes[i]->base.n_unknown_fields;
    cr_assert_gt(unknown, 0);
    size_t n = stele__tf__saved_model__get_packed_size(sm);
    uint8_t *out = malloc(n);
    stele__tf__saved_model__pack(sm, out);
    Stele__Tf__SavedModel *sm2 = stele__tf__saved_model__unpack(NULL, n, out);
    cr_assert_not_null(sm2);
    cr_assert_eq(stele__tf__saved_model__get_packed_size(sm2), n);
    size_t unknown2 = 0;
    const Stele__Tf__SavedObjectGraph *og2 = sm2->meta_graphs[0]->object_graph_def;
    for (size_t i = 0; i < og2->n_nodes; i++) unknown2 += og2->nodes[i]->base.n_unknown_fields;
    cr_assert_eq(unknown2, unknown);
    /* TF's C++ writer spells out default values inside map entries (resource_arg_unique_id
     * {0: 0}); protobuf-c leaves them implicit, so only those bytes may differ */
    cr_assert(n <= f->size && f->size - n < 64, "%zu vs %zu", n, f->size);
    stele__tf__saved_model__free_unpacked(sm2, NULL);
    stele__tf__saved_model__free_unpacked(sm, NULL);
    free(out);
    st_buf_unref(f);
}

/* A TF1 SavedModel (no such map entries) packs back byte for byte. */
Test(savedmodel, tf1_pb_repacks_identically) {
    char dir[4096], p[4200];
    if (!have("half_plus_two_cpu/00000123", dir, sizeof dir)) cr_skip_test("fixtures absent");
    snprintf(p, sizeof p, "%.4000s/saved_model.pb", dir);
    st_buf *f;
    st_error err;
    cr_assert_eq(st_read_file(p, &f, &err), ST_OK);
    Stele__Tf__SavedModel *sm = stele__tf__saved_model__unpack(NULL, f->size, f->data);
    cr_assert_not_null(sm);
    size_t n = stele__tf__saved_model__get_packed_size(sm);
    cr_assert_eq(n, f->size);
    uint8_t *out = malloc(n);
    stele__tf__saved_model__pack(sm, out);
    cr_assert(!memcmp(out, f->data, n));
    free(out);
    stele__tf__saved_model__free_unpacked(sm, NULL);
    st_buf_unref(f);
}

static const Stele__Tf__NodeDef *find_node(const Stele__Tf__GraphDef *g, const char *name) {
    for (size_t i = 0; i < g->n_node; i++)
        if (!strcmp(g->node[i]->name, name)) return g->node[i];
    return NULL;
}

static const Stele__Tf__SignatureDef *sig(const Stele__Tf__MetaGraphDef *mg, const char *k) {
    for (size_t i = 0; i < mg->n_signature_def; i++)
        if (!strcmp(mg->signature_def[i]->key, k)) return mg->signature_def[i]->value;
    return NULL;
}

/* The exported directory against the TF-written one: the same message layout. */
Test(savedmodel, export_matches_fixture_layout) {
    char dir[4096];
    if (!have("half_plus_three/00000123", dir, sizeof dir)) cr_skip_test("fixtures absent");
    st_error err;
    st_model *m;
    cr_assert_eq(st_tf_import(dir, NULL, &m, &err), ST_OK, "%s", err.msg);
    char *d = tmpdir(), out[128];
    snprintf(out, sizeof out, "%s/export", d);
    cr_assert_eq(st_tf_export(m, out, &err), ST_OK, "%s", err.msg);
    Stele__Tf__SavedModel *a, *b;
    cr_assert_eq(st_tf_saved_model_load(dir, &a, &err), ST_OK);
    cr_assert_eq(st_tf_saved_model_load(out, &b, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(b->saved_model_schema_version, a->saved_model_schema_version);
    cr_assert_eq(b->n_meta_graphs, 1);
    const Stele__Tf__MetaGraphDef *ma = a->meta_graphs[0], *mb = b->meta_graphs[0];
    cr_assert_eq(mb->meta_info_def->n_tags, ma->meta_info_def->n_tags);
    cr_assert_str_eq(mb->meta_info_def->tags[0], ma->meta_info_def->tags[0]);
    const Stele__Tf__SignatureDef *sa = sig(ma, "serving_default"),
                                  *sb = sig(mb, "serving_default");
    cr_assert_not_null(sb);
    cr_assert_str_eq(sb->method_name, sa->method_name);
    cr_assert_eq(sb->n_inputs, sa->n_inputs);
    cr_assert_eq(sb->n_outputs, sa->n_outputs);
    cr_assert_str_eq(sb->inputs[0]->key, sa->inputs[0]->key);
    cr_assert_str_eq(sb->inputs[0]->value->name, sa->inputs[0]->value->name); /* "x:0" */
    cr_assert_eq(sb->inputs[0]->value->dtype, sa->inputs[0]->value->dtype);
    cr_assert_str_eq(sb->outputs[0]->key, sa->outputs[0]->key);
    cr_assert_eq(sb->outputs[0]->value->dtype, sa->outputs[0]->value->dtype);
    /* saver: restore op and filename tensor exist; the same op kinds restore variables */
    cr_assert_not_null(mb->saver_def);
    cr_assert_str_eq(mb->saver_def->restore_op_name,
                     ma->saver_def->restore_op_name); /* save/restore_all */
    const Stele__Tf__GraphDef *ga = ma->graph_def, *gb = mb->graph_def;
    cr_assert_not_null(gb->versions);
    cr_assert_str_eq(find_node(gb, "save/restore_all")->op, "NoOp");
    cr_assert_str_eq(find_node(gb, "save/RestoreV2")->op, find_node(ga, "save/RestoreV2")->op);
    cr_assert_str_eq(find_node(gb, "a")->op, find_node(ga, "a")->op);           /* VariableV2 */
    cr_assert_str_eq(find_node(gb, "a/read")->op, find_node(ga, "a/read")->op); /* Identity */
    cr_assert_str_eq(find_node(gb, "save/Assign")->op, "Assign");
    cr_assert_str_eq(find_node(gb, "x")->op, "Placeholder");
    /* bundle: same header and entry fields, same CRC for the same bytes */
    char pa[4200], pb[200];
    snprintf(pa, sizeof pa, "%.4000s/variables/variables", dir);
    snprintf(pb, sizeof pb, "%s/variables/variables", out);
    st_tf_bundle *ba, *bb;
    cr_assert_eq(st_tf_bundle_open(pa, &ba, &err), ST_OK);
    cr_assert_eq(st_tf_bundle_open(pb, &bb, &err), ST_OK, "%s", err.msg);
    const char *keys[2] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        const Stele__Tf__BundleEntryProto *ea = st_tf_bundle_entry(ba, keys[i]),
                                          *eb = st_tf_bundle_entry(bb, keys[i]);
        cr_assert_not_null(eb, "%s", keys[i]);
        cr_assert_eq(eb->dtype, ea->dtype);
        cr_assert_eq(eb->shape ? eb->shape->n_dim : 0, ea->shape ? ea->shape->n_dim : 0);
        cr_assert_eq(eb->shard_id, ea->shard_id);
        cr_assert_eq(eb->size, ea->size);
        cr_assert_eq(eb->crc32c, ea->crc32c);
    }
    st_tf_bundle_free(ba);
    st_tf_bundle_free(bb);
    st_tf_saved_model_free(a);
    st_tf_saved_model_free(b);
    /* and it loads again */
    st_model *m2;
    cr_assert_eq(st_tf_import(out, NULL, &m2, &err), ST_OK, "%s", err.msg);
    st_model_release(m2);
    st_model_release(m);
    cr_assert(ut_rmtree(d));
}

Test(savedmodel, refusals_name_what_is_missing) {
    char dir[4096];
    st_error err;
    st_model *m;
    if (!have("counter/00000123", dir, sizeof dir)) cr_skip_test("fixtures absent");
    cr_assert_eq(st_tf_import(dir, "incr_counter", &m, &err), ST_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "AssignAdd") && strstr(err.msg, "stateful"), "%s", err.msg);
    cr_assert_eq(st_tf_import(dir, NULL, &m, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "get_counter"), "%s", err.msg);
    if (!have("tfx_chicago_taxi_estimator/1646034756", dir, sizeof dir))
        cr_skip_test("fixtures absent");
    cr_assert_eq(st_tf_import(dir, NULL, &m, &err), ST_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "ParseExampleV2 (1)") && strstr(err.msg, "HashTableV2 (2)"), "%s",
              err.msg);
}

/* Every stored tensor of every fixture bundle (numbers and strings) matches its CRC32C. */
Test(savedmodel, every_fixture_tensor_checksum) {
    static const char *const dirs[] = {
        "half_plus_two_cpu/00000123",
        "half_plus_two_tf2_cpu/00000123",
        "half_plus_three/00000123",
        "counter/00000123",
        "keras_mnist_cnn",
        "keras_lstm_msft",
        "keras_gru_msft",
        "keras_lstm_tfnet",
        "keras_mobilenet025_openmv",
        "keras3_export_transformer",
        "tfx_chicago_taxi_estimator/1646034756",
    };
    size_t checked = 0;
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char dir[4096], prefix[4200];
        if (!have(dirs[i], dir, sizeof dir)) continue;
        snprintf(prefix, sizeof prefix, "%.4000s/variables/variables", dir);
        st_tf_bundle *b;
        st_error err;
        cr_assert_eq(st_tf_bundle_open(prefix, &b, &err), ST_OK, "%s", err.msg);
        for (size_t k = 0; k < st_tf_bundle_count(b); k++) {
            const uint8_t *data;
            size_t size;
            st_buf *buf;
            cr_assert_eq(st_tf_bundle_data(b, st_tf_bundle_key(b, k), &data, &size, &buf, &err),
                         ST_OK, "%s", err.msg);
            st_buf_unref(buf);
            checked++;
        }
        st_tf_bundle_free(b);
    }
    if (!checked) cr_skip_test("fixtures absent");
    cr_assert_geq(checked, 500);
}

/* Both op tables are sorted without duplicate rows (binary search needs it) and every IR op
 * they name is one the runtime registers. */
Test(savedmodel, op_tables_match_registry) {
    const char *key, *ir, *prev = NULL;
    size_t n = 0, named = 0;
    for (; st_tf_import_row(n, &key, &ir); n++) {
        if (prev)
            cr_assert_lt(strcmp(prev, key), 0, "import rows \"%s\", \"%s\" out of order or twice",
                         prev, key);
        if (ir) {
            cr_assert(st_ops_known("", ir), "import row %s names %s, which the registry lacks", key,
                      ir);
            named++;
        }
        prev = key;
    }
    cr_assert_geq(n, 110, "%zu import rows", n);
    cr_assert_geq(named, 50, "%zu import rows name their IR op", named);
    prev = NULL;
    size_t m = 0;
    bool conv = false;
    for (; st_tf_export_row(m, &key, &ir); m++) {
        if (prev)
            cr_assert_lt(strcmp(prev, key), 0, "export rows \"%s\", \"%s\" out of order or twice",
                         prev, key);
        cr_assert(st_ops_known("", key), "export row %s: not a registered operator", key);
        conv = conv || !strcmp(key, "Conv");
        prev = key;
    }
    cr_assert_geq(m, 60, "%zu export rows", m);
    cr_assert(conv);
    const char *tf;
    cr_assert(st_tf_export_row(0, &key, &tf));
    cr_assert_str_eq(key, "Abs");
    cr_assert_not(st_tf_export_row(m, &key, &tf));
}

/* The sticky status of the importer does not depend on whether a message was asked for. */
Test(savedmodel, status_without_an_error_record) {
    char dir[4096];
    st_model *m;
    if (!have("counter/00000123", dir, sizeof dir)) cr_skip_test("fixtures absent");
    cr_assert_eq(st_tf_import(dir, "incr_counter", &m, NULL), ST_ERR_UNSUPPORTED);
    cr_assert_eq(st_tf_import(dir, NULL, &m, NULL), ST_ERR_INVALID);
    cr_assert_eq(st_tf_import("/nonexistent/stele-sm", NULL, &m, NULL), ST_ERR_IO);
}

/* Out of memory at every allocation of import and export: a clean ST_ERR_NOMEM (with and
 * without an st_error), nothing half-built handed out, and both succeed once memory lasts. */
Test(savedmodel, out_of_memory_everywhere_is_clean) {
    char dir[4096];
    if (!have("half_plus_three/00000123", dir, sizeof dir)) cr_skip_test("fixtures absent");
    char *d = tmpdir();
    char out[4200];
    snprintf(out, sizeof out, "%s/exported", d);
    st_model *m = NULL;
    st_error err;
    long n;
    for (n = 1; n < 200000; n++) {
        st_alloc_fail_after(n);
        st_status s = st_tf_import(dir, NULL, &m, n % 2 ? &err : NULL);
        st_alloc_fail_after(0);
        if (s == ST_OK) break;
        cr_assert_eq(s, ST_ERR_NOMEM, "allocation %ld: %s", n, n % 2 ? err.msg : "");
    }
    cr_assert_not_null(m, "import never succeeded");
    cr_assert_gt(n, 20, "import made only %ld allocations", n);
    for (n = 1; n < 200000; n++) {
        st_alloc_fail_after(n);
        st_status s = st_tf_export(m, out, n % 2 ? &err : NULL);
        st_alloc_fail_after(0);
        if (s == ST_OK) break;
        cr_assert_eq(s, ST_ERR_NOMEM, "allocation %ld: %s", n, n % 2 ? err.msg : "");
    }
    cr_assert_lt(n, 200000, "export never succeeded");
    st_model *m2;
    cr_assert_eq(st_tf_import(out, NULL, &m2, &err), ST_OK, "%s", err.msg);
    st_model_release(m2);
    st_model_release(m);
    cr_assert(ut_rmtree(d));
}
