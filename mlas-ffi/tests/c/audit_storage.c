/* SQLite settings, backups, and audit verification by range and across archive files. */
#include "harness.h"

#include <stdint.h>

#define T1 INT64_C(1769947200000000) /* 2026-02-01 */
#define T2 INT64_C(1772539200000000) /* 2026-03-03 */

static int32_t to_file(void *user_data, const uint8_t *bytes, size_t len) {
    return fwrite(bytes, 1, len, (FILE *)user_data) == len ? 0 : 1;
}

static void create(mlas_engine *engine, mlas_scope *scope, const char *id) {
    char doc[256];
    char *json = NULL;
    snprintf(
        doc, sizeof doc,
        "{\"id\":\"%s\",\"name\":\"Ann\",\"email\":\"ann@example.com\",\"commission_rate\":\"10\"}",
        id);
    REQUIRE_OK(mlas_affiliate_create(engine, scope, S(doc), &json));
    mlas_string_free(json);
}

static int report_says(mlas_status status, char *json, const char *needle) {
    int found = status == MLAS_OK && json != NULL && strstr(json, needle) != NULL;
    if (!found) {
        fprintf(stderr, "report: %s\n", json != NULL ? json : "(none)");
    }
    mlas_string_free(json);
    return found;
}

/* A call that answers a report in `json`, and a check that the report holds `needle`. */
#define EXPECT_REPORT(call, needle)                   \
    do {                                              \
        json = NULL;                                  \
        mlas_status status_ = (call);                 \
        EXPECT(report_says(status_, json, (needle))); \
    } while (0)

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "audit_storage_test.db";
    char archive[512], backup[512], paths[1200];
    snprintf(archive, sizeof archive, "%s.archive-1.jsonl", path);
    snprintf(backup, sizeof backup, "%s.backup", path);
    remove(path);
    remove(archive);
    remove(backup);

    mlas_engine *engine = NULL;
    mlas_scope *scope = NULL;
    char *json = NULL;
    mlas_engine *none = NULL;

    /* Bad SQLite settings are refused before the file is touched. */
    EXPECT_STATUS(mlas_engine_open(S(path), S("{\"sqlite\":{\"synchronous\":\"OFF\"}}"), &none),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(
        mlas_engine_open(S(path), S("{\"sqlite\":{\"busy_timeout_ms\":4294967296}}"), &none),
        MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_engine_open(S(path), S("{\"sqlite\":{\"wal\":false}}"), &none),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_engine_open_memory(S("{\"sqlite\":{}}"), &none), MLAS_ERR_VALIDATION);
    EXPECT(none == NULL);
    FILE *probe = fopen(path, "rb");
    EXPECT(probe == NULL);
    if (probe != NULL) {
        fclose(probe);
    }

    REQUIRE_OK(mlas_engine_open(
        S(path), S("{\"sqlite\":{\"synchronous\":\"FULL\",\"busy_timeout_ms\":2000}}"), &engine));
    REQUIRE_OK(mlas_scope_new(S("org-123"), S("c-tests"), &scope));
    REQUIRE_OK(mlas_engine_set_time(engine, T1));
    create(engine, scope, "aff-1");
    create(engine, scope, "aff-2");
    REQUIRE_OK(mlas_engine_set_time(engine, T2));
    create(engine, scope, "aff-3");

    /* A range of the chain. */
    EXPECT_REPORT(mlas_audit_verify_range(engine, scope, 2, 3, &json), "\"intact\":true");
    EXPECT_REPORT(mlas_audit_verify_range(engine, scope, 2, 0, &json), "\"seq\":3");
    json = NULL;
    EXPECT_STATUS(mlas_audit_verify_range(engine, scope, 3, 2, &json), MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_audit_verify_range(engine, scope, 0, 0, &json), MLAS_ERR_VALIDATION);
    EXPECT(json == NULL);

    /* A backup opens as a database of its own and is never overwritten. */
    EXPECT_STATUS(mlas_engine_backup(engine, S(backup)), MLAS_OK);
    EXPECT_STATUS(mlas_engine_backup(engine, S(backup)), MLAS_ERR_VALIDATION);
    mlas_engine *copy = NULL;
    REQUIRE_OK(mlas_engine_open(S(backup), NULL, 0, &copy));
    json = NULL;
    EXPECT_STATUS(mlas_affiliate_get(copy, scope, S("aff-3"), &json), MLAS_OK);
    mlas_string_free(json);
    EXPECT_REPORT(mlas_audit_verify(copy, scope, &json), "\"intact\":true");
    mlas_engine_free(copy);

    /* An in-memory engine has no file to copy. */
    mlas_engine *memory = NULL;
    REQUIRE_OK(mlas_engine_open_memory(NULL, 0, &memory));
    EXPECT_STATUS(mlas_engine_backup(memory, S(backup)), MLAS_ERR_UNSUPPORTED);
    EXPECT(strcmp(mlas_status_name(MLAS_ERR_UNSUPPORTED), "MLAS_ERR_UNSUPPORTED") == 0);
    mlas_engine_free(memory);

    /* Archive the records older than T2 to a file. */
    FILE *out = fopen(archive, "wb");
    REQUIRE_OK(out == NULL ? MLAS_ERR_STORAGE : MLAS_OK);
    json = NULL;
    REQUIRE_OK(mlas_audit_archive(engine, scope, T2, to_file, out, &json));
    EXPECT(strstr(json, "\"records\":2") != NULL);
    mlas_string_free(json);
    EXPECT(fclose(out) == 0);

    /* The archive and the database verify as one chain. */
    snprintf(paths, sizeof paths, "[\"%s\"]", archive);
    EXPECT_REPORT(mlas_audit_verify_archives(engine, scope, S(paths), &json), "\"intact\":true");
    /* Without the archive the chain does not start at genesis: a finding, not an error. */
    EXPECT_REPORT(mlas_audit_verify_archives(engine, scope, S("[]"), &json), "\"intact\":false");
    /* The same archive twice does not continue itself. */
    snprintf(paths, sizeof paths, "[\"%s\",\"%s\"]", archive, archive);
    EXPECT_REPORT(mlas_audit_verify_archives(engine, scope, S(paths), &json), "\"intact\":false");
    /* The rest of the chain still verifies alone, from its anchor. */
    EXPECT_REPORT(mlas_audit_verify(engine, scope, &json), "\"intact\":true");
    /* A range cannot start inside the archived part. */
    json = NULL;
    EXPECT_STATUS(mlas_audit_verify_range(engine, scope, 1, 0, &json), MLAS_ERR_VALIDATION);

    /* Unreadable files and malformed lists fail, naming what failed. */
    snprintf(paths, sizeof paths, "[\"%s.missing\"]", archive);
    EXPECT_STATUS(mlas_audit_verify_archives(engine, scope, S(paths), &json), MLAS_ERR_STORAGE);
    EXPECT(strstr(mlas_last_error_message(), ".missing") != NULL);
    EXPECT_STATUS(mlas_audit_verify_archives(engine, scope, S("{\"path\":\"a\"}"), &json),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_audit_verify_archives(engine, scope, S("[\"\"]"), &json),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_audit_verify_archives(engine, scope, S("["), &json), MLAS_ERR_INVALID_JSON);
    EXPECT(json == NULL);

    mlas_scope_free(scope);
    mlas_engine_free(engine);
    remove(path);
    remove(archive);
    remove(backup);
    return harness_finish("audit_storage");
}
