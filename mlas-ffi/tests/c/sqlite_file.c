/* An engine on a SQLite file keeps its data across close and reopen. */
#include "harness.h"

#include <stdint.h>

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "sqlite_file_test.db";
    mlas_engine *engine = NULL;
    mlas_scope *scope = NULL;
    char *json = NULL;

    remove(path);
    REQUIRE_OK(mlas_engine_open(S(path), S("{\"min_payout\":{\"USD\":\"50.00\"}}"), &engine));
    REQUIRE_OK(mlas_scope_new(S("org-123"), S("c-tests"), &scope));
    EXPECT_STATUS(
        mlas_affiliate_create(engine, scope,
                              S("{\"id\":\"aff-1\",\"name\":\"Ann\",\"email\":\"ann@example.com\","
                                "\"commission_rate\":\"12.5\"}"),
                              &json),
        MLAS_OK);
    mlas_string_free(json);
    mlas_engine_free(engine);

    engine = NULL;
    REQUIRE_OK(mlas_engine_open(S(path), NULL, 0, &engine));
    json = NULL;
    EXPECT_STATUS(mlas_affiliate_get(engine, scope, S("aff-1"), &json), MLAS_OK);
    EXPECT(json != NULL && strstr(json, "\"commission_rate\":\"12.5\"") != NULL);
    mlas_string_free(json);

    /* An affiliate id is unique in its tenant: creating it again is a conflict. */
    json = NULL;
    EXPECT_STATUS(
        mlas_affiliate_create(engine, scope,
                              S("{\"id\":\"aff-1\",\"name\":\"Ann\",\"email\":\"ann@example.com\","
                                "\"commission_rate\":\"12.5\"}"),
                              &json),
        MLAS_ERR_CONFLICT);
    EXPECT(json == NULL);

    mlas_scope_free(scope);
    mlas_engine_free(engine);
    remove(path);
    return harness_finish("sqlite_file");
}
