/*
 * Bad input at the C boundary: NULL in every pointer position, invalid UTF-8,
 * malformed decimals and JSON, unknown ids, out-of-range enum values and
 * lengths. Each call must return its documented status, leave its
 * out-parameter unwritten, change nothing, and never crash.
 */
#include "harness.h"

#include <stdint.h>

static mlas_engine *engine;
static mlas_scope *scope;
static char commission_id[160];

/* Everything the tenant has, as one string: compared before and after. */
static char *snapshot(void) {
    char *parts[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    REQUIRE_OK(mlas_affiliate_list(engine, scope, &parts[0]));
    REQUIRE_OK(mlas_rule_list(engine, scope, &parts[1]));
    REQUIRE_OK(mlas_commission_list(engine, scope, NULL, 0, &parts[2]));
    REQUIRE_OK(mlas_adjustment_list(engine, scope, NULL, 0, &parts[3]));
    REQUIRE_OK(mlas_sale_get(engine, scope, S("s1"), &parts[4]));
    REQUIRE_OK(mlas_audit_verify(engine, scope, &parts[5]));
    size_t total = 1;
    for (int i = 0; i < 6; i++) {
        total += strlen(parts[i]) + 1;
    }
    char *all = malloc(total);
    if (all == NULL) {
        exit(2);
    }
    all[0] = '\0';
    for (int i = 0; i < 6; i++) {
        strcat(all, parts[i]);
        strcat(all, "\n");
        mlas_string_free(parts[i]);
    }
    return all;
}

static void setup(void) {
    char *json = NULL;
    REQUIRE_OK(mlas_engine_open_memory(NULL, 0, &engine));
    REQUIRE_OK(mlas_engine_set_time(engine, INT64_C(1769947200000000)));
    REQUIRE_OK(mlas_scope_new(S("org-123"), S("c-tests"), &scope));
    REQUIRE_OK(mlas_affiliate_create(
        engine, scope,
        S("{\"id\":\"b\",\"name\":\"B\",\"email\":\"b@example.com\",\"commission_rate\":\"5\"}"),
        &json));
    mlas_string_free(json);
    REQUIRE_OK(mlas_affiliate_create(engine, scope,
                                     S("{\"id\":\"a\",\"name\":\"A\",\"email\":\"a@example.com\","
                                       "\"commission_rate\":\"10\",\"sponsor_id\":\"b\"}"),
                                     &json));
    mlas_string_free(json);
    REQUIRE_OK(mlas_rule_create(
        engine, scope,
        S("{\"id\":\"r\",\"name\":\"R\",\"levels\":["
          "{\"rate\":{\"kind\":\"percent\",\"percent\":\"10\"}},"
          "{\"rate\":{\"kind\":\"percent\",\"percent\":\"5\"}}],\"holding_days\":30}"),
        &json));
    mlas_string_free(json);
    REQUIRE_OK(mlas_sale_record(
        engine, scope,
        S("{\"id\":\"s1\",\"amount\":\"100.00\",\"currency\":\"USD\",\"affiliate_id\":\"a\"}"),
        &json));
    if (!json_string(json, "id", 0, commission_id, sizeof commission_id)) {
        fprintf(stderr, "no commission id in %s\n", json);
        exit(2);
    }
    mlas_string_free(json);
}

/* A value no libmlas call writes: out-parameters must keep it on failure. */
static char sentinel_storage;
#define SENTINEL (&sentinel_storage)

/* fn(engine, scope, text, len, &out): NULL in each pointer position. */
#define NULLS_TEXT_FN(fn, text)                                                  \
    do {                                                                         \
        char *out_ = SENTINEL;                                                   \
        EXPECT_STATUS(fn(NULL, scope, S(text), &out_), MLAS_ERR_NULL_POINTER);   \
        EXPECT_STATUS(fn(engine, NULL, S(text), &out_), MLAS_ERR_NULL_POINTER);  \
        EXPECT_STATUS(fn(engine, scope, NULL, 3, &out_), MLAS_ERR_NULL_POINTER); \
        EXPECT_STATUS(fn(engine, scope, S(text), NULL), MLAS_ERR_NULL_POINTER);  \
        EXPECT(out_ == SENTINEL);                                                \
    } while (0)

/* fn(engine, scope, &out): NULL in each pointer position. */
#define NULLS_LIST_FN(fn)                                              \
    do {                                                               \
        char *out_ = SENTINEL;                                         \
        EXPECT_STATUS(fn(NULL, scope, &out_), MLAS_ERR_NULL_POINTER);  \
        EXPECT_STATUS(fn(engine, NULL, &out_), MLAS_ERR_NULL_POINTER); \
        EXPECT_STATUS(fn(engine, scope, NULL), MLAS_ERR_NULL_POINTER); \
        EXPECT(out_ == SENTINEL);                                      \
    } while (0)

/* fn(engine, scope, filter, len, &out): the filter may be NULL only with length 0. */
#define NULLS_FILTER_FN(fn)                                                      \
    do {                                                                         \
        char *out_ = SENTINEL;                                                   \
        EXPECT_STATUS(fn(NULL, scope, NULL, 0, &out_), MLAS_ERR_NULL_POINTER);   \
        EXPECT_STATUS(fn(engine, NULL, NULL, 0, &out_), MLAS_ERR_NULL_POINTER);  \
        EXPECT_STATUS(fn(engine, scope, NULL, 2, &out_), MLAS_ERR_NULL_POINTER); \
        EXPECT_STATUS(fn(engine, scope, NULL, 0, NULL), MLAS_ERR_NULL_POINTER);  \
        EXPECT(out_ == SENTINEL);                                                \
    } while (0)

static void null_pointers(void) {
    char *out = SENTINEL;
    mlas_engine *no_engine = (mlas_engine *)SENTINEL;
    mlas_scope *no_scope = (mlas_scope *)SENTINEL;
    int64_t micros = 42;

    EXPECT_STATUS(mlas_engine_open_memory(NULL, 0, NULL), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_engine_open_memory(NULL, 5, &no_engine), MLAS_ERR_NULL_POINTER);
    EXPECT(no_engine == (mlas_engine *)SENTINEL);
    EXPECT_STATUS(mlas_engine_set_time(NULL, 0), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_engine_use_system_time(NULL), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_engine_now(NULL, &micros), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_engine_now(engine, NULL), MLAS_ERR_NULL_POINTER);
    EXPECT(micros == 42);

    EXPECT_STATUS(mlas_scope_new(NULL, 3, S("x"), &no_scope), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_scope_new(S("org"), NULL, 3, &no_scope), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_scope_new(S("org"), S("x"), NULL), MLAS_ERR_NULL_POINTER);
    EXPECT(no_scope == (mlas_scope *)SENTINEL);

    NULLS_TEXT_FN(mlas_affiliate_create, "{}");
    NULLS_TEXT_FN(mlas_affiliate_get, "a");
    NULLS_TEXT_FN(mlas_affiliate_upline, "a");
    NULLS_LIST_FN(mlas_affiliate_list);
    NULLS_TEXT_FN(mlas_rule_create, "{}");
    NULLS_TEXT_FN(mlas_rule_versions, "r");
    NULLS_LIST_FN(mlas_rule_list);
    NULLS_TEXT_FN(mlas_sale_record, "{}");
    NULLS_TEXT_FN(mlas_sale_record_many, "[]");
    NULLS_TEXT_FN(mlas_sale_get, "s1");
    NULLS_TEXT_FN(mlas_sale_explain, "s1");
    NULLS_TEXT_FN(mlas_sale_explain_text, "s1");
    NULLS_TEXT_FN(mlas_sale_recalculate, "s1");
    NULLS_TEXT_FN(mlas_refund_create, "{}");
    NULLS_TEXT_FN(mlas_refund_get, "r1");
    NULLS_TEXT_FN(mlas_commission_get, commission_id);
    NULLS_TEXT_FN(mlas_commission_explain, commission_id);
    NULLS_TEXT_FN(mlas_commission_approve, commission_id);
    NULLS_LIST_FN(mlas_commission_approve_available);
    NULLS_FILTER_FN(mlas_commission_list);
    NULLS_FILTER_FN(mlas_adjustment_list);

    /* Functions with more arguments: one NULL at a time. */
    EXPECT_STATUS(mlas_affiliate_update(NULL, scope, S("a"), S("{}"), &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_affiliate_update(engine, NULL, S("a"), S("{}"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_affiliate_update(engine, scope, NULL, 1, S("{}"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_affiliate_update(engine, scope, S("a"), NULL, 2, &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_affiliate_update(engine, scope, S("a"), S("{}"), NULL),
                  MLAS_ERR_NULL_POINTER);

    EXPECT_STATUS(mlas_affiliate_set_status(NULL, scope, S("a"), MLAS_AFFILIATE_STATUS_SUSPENDED,
                                            S("r"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_affiliate_set_status(engine, NULL, S("a"), MLAS_AFFILIATE_STATUS_SUSPENDED,
                                            S("r"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_affiliate_set_status(engine, scope, NULL, 1, MLAS_AFFILIATE_STATUS_SUSPENDED,
                                            S("r"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_affiliate_set_status(engine, scope, S("a"), MLAS_AFFILIATE_STATUS_SUSPENDED,
                                            NULL, 1, &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_affiliate_set_status(engine, scope, S("a"), MLAS_AFFILIATE_STATUS_SUSPENDED,
                                            S("r"), NULL),
                  MLAS_ERR_NULL_POINTER);

    EXPECT_STATUS(mlas_affiliate_set_sponsor(NULL, scope, S("a"), S("b"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_affiliate_set_sponsor(engine, NULL, S("a"), S("b"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_affiliate_set_sponsor(engine, scope, NULL, 1, S("b"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_affiliate_set_sponsor(engine, scope, S("a"), NULL, 1, &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_affiliate_set_sponsor(engine, scope, S("a"), S("b"), NULL),
                  MLAS_ERR_NULL_POINTER);

    EXPECT_STATUS(mlas_rule_update(NULL, scope, S("r"), S("{}"), &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_rule_update(engine, NULL, S("r"), S("{}"), &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_rule_update(engine, scope, NULL, 1, S("{}"), &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_rule_update(engine, scope, S("r"), NULL, 2, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_rule_update(engine, scope, S("r"), S("{}"), NULL), MLAS_ERR_NULL_POINTER);

    EXPECT_STATUS(mlas_rule_get(NULL, scope, S("r"), 0, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_rule_get(engine, NULL, S("r"), 0, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_rule_get(engine, scope, NULL, 1, 0, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_rule_get(engine, scope, S("r"), 0, NULL), MLAS_ERR_NULL_POINTER);

    EXPECT_STATUS(mlas_commission_reject(NULL, scope, S(commission_id), S("r"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_commission_reject(engine, NULL, S(commission_id), S("r"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_commission_reject(engine, scope, NULL, 1, S("r"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_commission_reject(engine, scope, S(commission_id), NULL, 1, &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_commission_reject(engine, scope, S(commission_id), S("r"), NULL),
                  MLAS_ERR_NULL_POINTER);

    EXPECT_STATUS(mlas_commission_dispute(NULL, scope, S(commission_id), S("r"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_commission_dispute(engine, NULL, S(commission_id), S("r"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_commission_dispute(engine, scope, NULL, 1, S("r"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_commission_dispute(engine, scope, S(commission_id), NULL, 1, &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_commission_dispute(engine, scope, S(commission_id), S("r"), NULL),
                  MLAS_ERR_NULL_POINTER);

    EXPECT_STATUS(mlas_commission_resolve(NULL, scope, S(commission_id), MLAS_RESOLUTION_APPROVE,
                                          S("r"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_commission_resolve(engine, NULL, S(commission_id), MLAS_RESOLUTION_APPROVE,
                                          S("r"), &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(
        mlas_commission_resolve(engine, scope, NULL, 1, MLAS_RESOLUTION_APPROVE, S("r"), &out),
        MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_commission_resolve(engine, scope, S(commission_id), MLAS_RESOLUTION_APPROVE,
                                          NULL, 1, &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_commission_resolve(engine, scope, S(commission_id), MLAS_RESOLUTION_APPROVE,
                                          S("r"), NULL),
                  MLAS_ERR_NULL_POINTER);
    EXPECT(out == SENTINEL);

    /* The free functions take NULL as a no-op. */
    mlas_string_free(NULL);
    mlas_scope_free(NULL);
    mlas_engine_free(NULL);
    EXPECT(1);
}

static void invalid_utf8(void) {
    char *out = SENTINEL;
    mlas_scope *no_scope = (mlas_scope *)SENTINEL;
    const char bad[] = "\xff\xfe";
    const char truncated[] = "{\"name\":\"\xc3\"}";

    EXPECT_STATUS(mlas_scope_new(bad, 2, S("x"), &no_scope), MLAS_ERR_INVALID_UTF8);
    EXPECT_STATUS(mlas_scope_new(S("org"), bad, 2, &no_scope), MLAS_ERR_INVALID_UTF8);
    EXPECT(no_scope == (mlas_scope *)SENTINEL);
    EXPECT_STATUS(mlas_engine_open_memory(bad, 2, (mlas_engine **)&out), MLAS_ERR_INVALID_UTF8);
    EXPECT_STATUS(mlas_affiliate_create(engine, scope, S(truncated), &out), MLAS_ERR_INVALID_UTF8);
    EXPECT_STATUS(mlas_affiliate_get(engine, scope, bad, 2, &out), MLAS_ERR_INVALID_UTF8);
    EXPECT_STATUS(mlas_affiliate_set_sponsor(engine, scope, S("a"), bad, 2, &out),
                  MLAS_ERR_INVALID_UTF8);
    EXPECT_STATUS(mlas_rule_create(engine, scope, bad, 2, &out), MLAS_ERR_INVALID_UTF8);
    EXPECT_STATUS(mlas_sale_record(engine, scope, bad, 2, &out), MLAS_ERR_INVALID_UTF8);
    EXPECT_STATUS(mlas_commission_reject(engine, scope, S(commission_id), bad, 2, &out),
                  MLAS_ERR_INVALID_UTF8);
    EXPECT_STATUS(mlas_commission_list(engine, scope, bad, 2, &out), MLAS_ERR_INVALID_UTF8);
    EXPECT(out == SENTINEL);
}

static void malformed_json(void) {
    const char *docs[] = {"", "{", "{\"name\":", "[1,2", "nul", "{}}", "{'a':1}", "{\"a\":1,}"};
    char *out = SENTINEL;
    mlas_engine *no_engine = (mlas_engine *)SENTINEL;
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        EXPECT_STATUS(mlas_affiliate_create(engine, scope, S(docs[i]), &out),
                      MLAS_ERR_INVALID_JSON);
        EXPECT_STATUS(mlas_rule_create(engine, scope, S(docs[i]), &out), MLAS_ERR_INVALID_JSON);
        EXPECT_STATUS(mlas_sale_record(engine, scope, S(docs[i]), &out), MLAS_ERR_INVALID_JSON);
        EXPECT_STATUS(mlas_refund_create(engine, scope, S(docs[i]), &out), MLAS_ERR_INVALID_JSON);
        EXPECT_STATUS(mlas_commission_list(engine, scope, S(docs[i]), &out), MLAS_ERR_INVALID_JSON);
        EXPECT_STATUS(mlas_engine_open_memory(S(docs[i]), &no_engine), MLAS_ERR_INVALID_JSON);
    }
    /* Well-formed JSON of the wrong shape is a validation error. */
    EXPECT_STATUS(mlas_affiliate_create(engine, scope, S("[]"), &out), MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_affiliate_create(engine, scope, S("{\"name\":\"X\"}"), &out),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_affiliate_create(
                      engine, scope,
                      S("{\"name\":\"X\",\"email\":\"x@example.com\",\"commission_rate\":\"1\","
                        "\"colour\":\"red\"}"),
                      &out),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_affiliate_update(engine, scope, S("a"), S("{\"status\":\"ACTIVE\"}"), &out),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_sale_record_many(engine, scope, S("{}"), &out), MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_commission_list(engine, scope, S("{\"limit\":-1}"), &out),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_engine_open_memory(S("{\"max_payout_attempts\":0}"), &no_engine),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_engine_open_memory(S("{\"audit_key_hex\":\"xyz\"}"), &no_engine),
                  MLAS_ERR_VALIDATION);
    EXPECT(out == SENTINEL);
    EXPECT(no_engine == (mlas_engine *)SENTINEL);
}

static void malformed_decimals(void) {
    const char *rates[] = {"abc", "1e2", "10.5.1", " 10", "", "NaN", "1,5", "101", "-1", "0x10"};
    char doc[256];
    char *out = SENTINEL;
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        snprintf(
            doc, sizeof doc,
            "{\"id\":\"z\",\"name\":\"Z\",\"email\":\"z@example.com\",\"commission_rate\":\"%s\"}",
            rates[i]);
        EXPECT_STATUS(mlas_affiliate_create(engine, scope, S(doc), &out), MLAS_ERR_VALIDATION);
    }
    /* A JSON number is never accepted for money or a rate. */
    EXPECT_STATUS(
        mlas_affiliate_create(
            engine, scope,
            S("{\"id\":\"z\",\"name\":\"Z\",\"email\":\"z@example.com\",\"commission_rate\":10}"),
            &out),
        MLAS_ERR_VALIDATION);

    const char *amounts[] = {
        "abc",      "-5.00", "0",        "0.00", "10.001",
        "1,000.00", "1e3",   "Infinity", "",     "100000000000000000000000000000"};
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
        snprintf(doc, sizeof doc,
                 "{\"id\":\"s2\",\"amount\":\"%s\",\"currency\":\"USD\",\"affiliate_id\":\"a\"}",
                 amounts[i]);
        EXPECT_STATUS(mlas_sale_record(engine, scope, S(doc), &out), MLAS_ERR_VALIDATION);
    }
    EXPECT_STATUS(
        mlas_sale_record(
            engine, scope,
            S("{\"id\":\"s2\",\"amount\":100,\"currency\":\"USD\",\"affiliate_id\":\"a\"}"), &out),
        MLAS_ERR_VALIDATION);
    EXPECT_STATUS(
        mlas_sale_record(
            engine, scope,
            S("{\"id\":\"s2\",\"amount\":\"100\",\"currency\":\"XYZ\",\"affiliate_id\":\"a\"}"),
            &out),
        MLAS_ERR_VALIDATION);
    EXPECT_STATUS(
        mlas_sale_record(
            engine, scope,
            S("{\"id\":\"s2\",\"amount\":\"100\",\"currency\":\"JPY\",\"affiliate_id\":\"a\","
              "\"occurred_at\":9223372036854775807}"),
            &out),
        MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_rule_create(engine, scope,
                                   S("{\"name\":\"bad\",\"levels\":[{\"rate\":{\"kind\":"
                                     "\"percent\",\"percent\":\"ten\"}}]}"),
                                   &out),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(
        mlas_rule_create(
            engine, scope,
            S("{\"name\":\"bad\",\"levels\":[{\"rate\":{\"kind\":\"percent\",\"percent\":10}}]}"),
            &out),
        MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_refund_create(
                      engine, scope,
                      S("{\"id\":\"r1\",\"sale_id\":\"s1\",\"amount\":\"1.001\",\"reason\":\"x\"}"),
                      &out),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(
        mlas_refund_create(
            engine, scope,
            S("{\"id\":\"r1\",\"sale_id\":\"s1\",\"amount\":\"100.01\",\"reason\":\"x\"}"), &out),
        MLAS_ERR_VALIDATION);
    /* A payout account with bad digits fails, and the message never shows them. */
    EXPECT_STATUS(
        mlas_affiliate_create(
            engine, scope,
            S("{\"id\":\"z\",\"name\":\"Z\",\"email\":\"z@example.com\",\"commission_rate\":\"1\","
              "\"payout_details\":{\"type\":\"us_bank\",\"account_number\":98765432101,"
              "\"routing_number\":\"021000021\",\"bank_name\":\"B\",\"account_holder_name\":\"Z\"}"
              "}"),
            &out),
        MLAS_ERR_VALIDATION);
    EXPECT(strstr(mlas_last_error_message(), "98765432101") == NULL);
    EXPECT_STATUS(
        mlas_affiliate_create(
            engine, scope,
            S("{\"id\":\"z\",\"name\":\"Z\",\"email\":\"z@example.com\",\"commission_rate\":\"1\","
              "\"payout_details\":{\"type\":\"us_bank\",\"account_number\":\"98765432101x\","
              "\"routing_number\":\"021000021\",\"bank_name\":\"B\",\"account_holder_name\":\"Z\"}"
              "}"),
            &out),
        MLAS_ERR_VALIDATION);
    EXPECT(strstr(mlas_last_error_message(), "98765432101") == NULL);
    EXPECT(out == SENTINEL);
}

static void unknown_ids(void) {
    char *out = SENTINEL;
    mlas_scope *other = NULL;
    EXPECT_STATUS(mlas_affiliate_get(engine, scope, S("nobody"), &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_affiliate_upline(engine, scope, S("nobody"), &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_affiliate_set_sponsor(engine, scope, S("a"), S("nobody"), &out),
                  MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_rule_get(engine, scope, S("nope"), 0, &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_rule_get(engine, scope, S("r"), 99, &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_sale_get(engine, scope, S("nope"), &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_sale_explain(engine, scope, S("nope"), &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_refund_get(engine, scope, S("nope"), &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_commission_approve(engine, scope, S("com_nope"), &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_commission_reject(engine, scope, S("com_nope"), S("x"), &out),
                  MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_sale_record(engine, scope,
                                   S("{\"id\":\"s3\",\"amount\":\"1.00\",\"currency\":\"USD\","
                                     "\"affiliate_id\":\"nobody\"}"),
                                   &out),
                  MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(
        mlas_refund_create(
            engine, scope,
            S("{\"id\":\"r1\",\"sale_id\":\"nope\",\"amount\":\"1.00\",\"reason\":\"x\"}"), &out),
        MLAS_ERR_NOT_FOUND);
    /* Ids that cannot exist are validation errors. */
    EXPECT_STATUS(mlas_affiliate_get(engine, scope, S("a b"), &out), MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_affiliate_get(engine, scope, S(""), &out), MLAS_ERR_VALIDATION);
    /* Another tenant's object is not found, exactly like a missing one. */
    REQUIRE_OK(mlas_scope_new(S("org-999"), S("c-tests"), &other));
    EXPECT_STATUS(mlas_affiliate_get(engine, other, S("a"), &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_commission_approve(engine, other, S(commission_id), &out),
                  MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_sale_explain_text(engine, other, S("s1"), &out), MLAS_ERR_NOT_FOUND);
    mlas_scope_free(other);
    EXPECT(out == SENTINEL);
}

static void out_of_range(void) {
    char *out = SENTINEL;
    const int32_t statuses[] = {0, 5, -1, INT32_MIN, INT32_MAX};
    const int32_t resolutions[] = {0, 3, -1, INT32_MAX};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        EXPECT_STATUS(mlas_affiliate_set_status(engine, scope, S("a"), statuses[i], S("why"), &out),
                      MLAS_ERR_INVALID_ARGUMENT);
    }
    for (size_t i = 0; i < sizeof resolutions / sizeof resolutions[0]; i++) {
        EXPECT_STATUS(mlas_commission_resolve(engine, scope, S(commission_id), resolutions[i],
                                              S("why"), &out),
                      MLAS_ERR_INVALID_ARGUMENT);
    }
    EXPECT_STATUS(mlas_affiliate_get(engine, scope, "a", SIZE_MAX, &out),
                  MLAS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mlas_sale_record(engine, scope, "{}", (size_t)PTRDIFF_MAX + 1, &out),
                  MLAS_ERR_INVALID_ARGUMENT);
    EXPECT(out == SENTINEL);
    /* Lifecycle moves that the status forbids. */
    EXPECT_STATUS(mlas_affiliate_set_status(engine, scope, S("a"), MLAS_AFFILIATE_STATUS_PENDING,
                                            S("why"), &out),
                  MLAS_ERR_ILLEGAL_TRANSITION);
    EXPECT_STATUS(mlas_commission_resolve(engine, scope, S(commission_id), MLAS_RESOLUTION_APPROVE,
                                          S("why"), &out),
                  MLAS_ERR_ILLEGAL_TRANSITION);
    EXPECT_STATUS(mlas_commission_approve(engine, scope, S(commission_id), &out),
                  MLAS_ERR_ILLEGAL_TRANSITION);
    EXPECT_STATUS(mlas_commission_reject(engine, scope, S(commission_id), S(""), &out),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_affiliate_set_sponsor(engine, scope, S("b"), S("a"), &out),
                  MLAS_ERR_VALIDATION);
    EXPECT(out == SENTINEL);
    /* Time outside the representable range. */
    EXPECT_STATUS(mlas_engine_set_time(engine, INT64_MAX), MLAS_ERR_INVALID_ARGUMENT);
}

static int32_t never_send(void *user_data, const char *instruction, size_t len, char *text,
                          size_t cap) {
    (void)user_data;
    (void)instruction;
    (void)len;
    (void)text;
    (void)cap;
    return MLAS_PROVIDER_FAILED;
}

static int32_t never_status(void *user_data, const char *id, size_t len, char *text, size_t cap) {
    (void)user_data;
    (void)id;
    (void)len;
    (void)text;
    (void)cap;
    return MLAS_PROVIDER_NOT_FOUND;
}

static void ignore_log(void *user_data, int32_t level, const char *target, size_t target_len,
                       const char *message, size_t message_len) {
    (void)user_data;
    (void)level;
    (void)target;
    (void)target_len;
    (void)message;
    (void)message_len;
}

static void payouts_bad_input(void) {
    char *out = SENTINEL;
    mlas_provider *provider = NULL;
    mlas_provider *no_provider = (mlas_provider *)SENTINEL;
    mlas_engine *no_engine = (mlas_engine *)SENTINEL;
    const char *request = "{\"batch_id\":\"b1\",\"scheduled_for\":0}";

    REQUIRE_OK(mlas_provider_new_simulated(&provider));
    EXPECT_STATUS(mlas_provider_new(NULL, never_status, NULL, &no_provider), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_provider_new(never_send, NULL, NULL, &no_provider), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_provider_new(never_send, never_status, NULL, NULL), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_provider_new_simulated(NULL), MLAS_ERR_NULL_POINTER);
    EXPECT(no_provider == (mlas_provider *)SENTINEL);
    EXPECT_STATUS(mlas_provider_simulate_failure(NULL, S("a"), S("r")), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_provider_simulate_failure(provider, NULL, 1, S("r")), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_provider_simulate_failure(provider, S("a"), NULL, 1), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_provider_simulate_recovery(NULL, S("a")), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_provider_simulate_recovery(provider, NULL, 1), MLAS_ERR_NULL_POINTER);
    mlas_provider_free(NULL);

    NULLS_TEXT_FN(mlas_payout_schedule, request);
    NULLS_TEXT_FN(mlas_batch_stats, "b1");
    NULLS_TEXT_FN(mlas_payout_get, "p1");
    NULLS_TEXT_FN(mlas_affiliate_balance, "a");
    NULLS_FILTER_FN(mlas_payout_list);
    NULLS_LIST_FN(mlas_metrics_json);
    NULLS_LIST_FN(mlas_metrics_prometheus);
    EXPECT_STATUS(mlas_batch_process(NULL, scope, S("b1"), provider, 1, &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_batch_process(engine, NULL, S("b1"), provider, 1, &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_batch_process(engine, scope, NULL, 2, provider, 1, &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_batch_process(engine, scope, S("b1"), NULL, 1, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_batch_process(engine, scope, S("b1"), provider, 1, NULL),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_payout_retry(NULL, scope, S("p1"), provider, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_payout_retry(engine, NULL, S("p1"), provider, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_payout_retry(engine, scope, NULL, 2, provider, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_payout_retry(engine, scope, S("p1"), NULL, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_payout_retry(engine, scope, S("p1"), provider, NULL), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_payout_cancel(NULL, scope, S("p1"), S("r"), &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_payout_cancel(engine, NULL, S("p1"), S("r"), &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_payout_cancel(engine, scope, NULL, 2, S("r"), &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_payout_cancel(engine, scope, S("p1"), NULL, 1, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_payout_cancel(engine, scope, S("p1"), S("r"), NULL), MLAS_ERR_NULL_POINTER);

    EXPECT_STATUS(mlas_engine_open(NULL, 3, NULL, 0, &no_engine), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_engine_open(S("x.db"), NULL, 0, NULL), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_engine_open("\xff", 1, NULL, 0, &no_engine), MLAS_ERR_INVALID_UTF8);
    EXPECT_STATUS(mlas_engine_open(S(""), NULL, 0, &no_engine), MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_engine_open(S("/nonexistent-dir/mlas.db"), NULL, 0, &no_engine),
                  MLAS_ERR_STORAGE);
    EXPECT_STATUS(
        mlas_engine_open(S("x.db"), S("{\"sqlite\":{\"synchronous\":\"OFF\"}}"), &no_engine),
        MLAS_ERR_VALIDATION);
    EXPECT_STATUS(
        mlas_engine_open(S("x.db"), S("{\"sqlite\":{\"busy_timeout_ms\":-1}}"), &no_engine),
        MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_engine_open_memory(S("{\"sqlite\":{\"synchronous\":\"FULL\"}}"), &no_engine),
                  MLAS_ERR_VALIDATION);
    EXPECT(no_engine == (mlas_engine *)SENTINEL);

    /* Backups: NULLs, bad paths, and an in-memory engine, which has no file to copy. */
    EXPECT_STATUS(mlas_engine_backup(NULL, S("backup.db")), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_engine_backup(engine, NULL, 3), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_engine_backup(engine, "\xff", 1), MLAS_ERR_INVALID_UTF8);
    EXPECT_STATUS(mlas_engine_backup(engine, S("")), MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_engine_backup(engine, S("backup.db")), MLAS_ERR_UNSUPPORTED);

    /* The log callback: unknown levels. */
    EXPECT_STATUS(mlas_log_set_callback(ignore_log, NULL, 0), MLAS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mlas_log_set_callback(ignore_log, NULL, -1), MLAS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mlas_log_set_callback(ignore_log, NULL, 6), MLAS_ERR_INVALID_ARGUMENT);

    /* Out-of-range values, unknown ids, malformed requests. */
    EXPECT_STATUS(mlas_batch_process(engine, scope, S("b1"), provider, 2, &out),
                  MLAS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mlas_batch_process(engine, scope, S("b1"), provider, -1, &out),
                  MLAS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mlas_batch_process(engine, scope, S("nope"), provider, 1, &out),
                  MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_batch_stats(engine, scope, S("nope"), &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_payout_get(engine, scope, S("nope"), &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_payout_retry(engine, scope, S("nope"), provider, &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_payout_cancel(engine, scope, S("nope"), S("r"), &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_affiliate_balance(engine, scope, S("nobody"), &out), MLAS_ERR_NOT_FOUND);
    EXPECT_STATUS(mlas_payout_schedule(engine, scope, S("{\"batch_id\":\"b1\""), &out),
                  MLAS_ERR_INVALID_JSON);
    EXPECT_STATUS(mlas_payout_schedule(engine, scope,
                                       S("{\"batch_id\":\"b1\",\"scheduled_for\":\"soon\"}"), &out),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(
        mlas_payout_schedule(
            engine, scope,
            S("{\"batch_id\":\"b1\",\"scheduled_for\":0,\"commission_ids\":[\"com_nope\"]}"), &out),
        MLAS_ERR_NOT_FOUND);
    /* The commission is PENDING (held 30 days): it cannot be scheduled. */
    char ids[256];
    snprintf(ids, sizeof ids,
             "{\"batch_id\":\"b1\",\"scheduled_for\":0,\"commission_ids\":[\"%s\"]}",
             commission_id);
    EXPECT_STATUS(mlas_payout_schedule(engine, scope, S(ids), &out), MLAS_ERR_ILLEGAL_TRANSITION);
    EXPECT_STATUS(mlas_payout_list(engine, scope, S("{\"status\":\"LOST\"}"), &out),
                  MLAS_ERR_VALIDATION);
    EXPECT(out == SENTINEL);
    mlas_provider_free(provider);
}

static int32_t refuse_write(void *user_data, const uint8_t *bytes, size_t len) {
    (void)user_data;
    (void)bytes;
    (void)len;
    return 1;
}

static void audit_bad_input(void) {
    char *out = SENTINEL;
    char *head = NULL;
    NULLS_LIST_FN(mlas_audit_verify);
    NULLS_LIST_FN(mlas_audit_checkpoint);
    NULLS_LIST_FN(mlas_engine_health);
    NULLS_TEXT_FN(mlas_audit_query, "{}");
    NULLS_TEXT_FN(mlas_audit_verify_checkpoint, "{}");
    EXPECT_STATUS(
        mlas_audit_export(NULL, scope, MLAS_AUDIT_FORMAT_JSONL, 0, 0, refuse_write, NULL, &out),
        MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(
        mlas_audit_export(engine, NULL, MLAS_AUDIT_FORMAT_JSONL, 0, 0, refuse_write, NULL, &out),
        MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_audit_export(engine, scope, MLAS_AUDIT_FORMAT_JSONL, 0, 0, NULL, NULL, &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(
        mlas_audit_export(engine, scope, MLAS_AUDIT_FORMAT_JSONL, 0, 0, refuse_write, NULL, NULL),
        MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_audit_export(engine, scope, 0, 0, 0, refuse_write, NULL, &out),
                  MLAS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mlas_audit_export(engine, scope, 3, 0, 0, refuse_write, NULL, &out),
                  MLAS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(
        mlas_audit_export(engine, scope, MLAS_AUDIT_FORMAT_CSV, 0, 0, refuse_write, NULL, &out),
        MLAS_ERR_STORAGE);
    EXPECT_STATUS(mlas_audit_archive(NULL, scope, 0, refuse_write, NULL, &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_audit_archive(engine, NULL, 0, refuse_write, NULL, &out),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_audit_archive(engine, scope, 0, NULL, NULL, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_audit_archive(engine, scope, 0, refuse_write, NULL, NULL),
                  MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_audit_archive(engine, scope, INT64_MIN, refuse_write, NULL, &out),
                  MLAS_ERR_INVALID_ARGUMENT);
    /* Archiving everything with a refusing writer deletes nothing. */
    EXPECT_STATUS(
        mlas_audit_archive(engine, scope, INT64_C(4102444800000000), refuse_write, NULL, &out),
        MLAS_ERR_STORAGE);
    EXPECT_STATUS(mlas_audit_query(engine, scope, S("{\"limit\":0}"), &out), MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_audit_query(engine, scope, S("{\"from\":\"yesterday\"}"), &out),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_audit_query(engine, scope, S("{\"limit\":"), &out), MLAS_ERR_INVALID_JSON);
    EXPECT_STATUS(mlas_audit_verify_checkpoint(engine, scope, S("{\"seq\":1}"), &out),
                  MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_audit_verify_checkpoint(engine, scope, S("not json"), &out),
                  MLAS_ERR_VALIDATION);
    /* Verification by range and across archive files. */
    NULLS_TEXT_FN(mlas_audit_verify_archives, "[]");
    EXPECT_STATUS(mlas_audit_verify_range(NULL, scope, 1, 0, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_audit_verify_range(engine, NULL, 1, 0, &out), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_audit_verify_range(engine, scope, 1, 0, NULL), MLAS_ERR_NULL_POINTER);
    EXPECT_STATUS(mlas_audit_verify_range(engine, scope, 0, 0, &out), MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_audit_verify_range(engine, scope, 5, 4, &out), MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_audit_verify_archives(engine, scope, "\xff", 1, &out),
                  MLAS_ERR_INVALID_UTF8);
    EXPECT_STATUS(
        mlas_audit_verify_archives(engine, scope, S("[\"/nonexistent-dir/a.jsonl\"]"), &out),
        MLAS_ERR_STORAGE);
    EXPECT_STATUS(mlas_audit_verify_archives(engine, scope, S("[1]"), &out), MLAS_ERR_VALIDATION);
    EXPECT_STATUS(mlas_audit_verify_archives(engine, scope, S("[\"a\""), &out),
                  MLAS_ERR_INVALID_JSON);
    EXPECT(out == SENTINEL);
    /* The chain is whole after all of the above. */
    REQUIRE_OK(mlas_audit_verify(engine, scope, &head));
    EXPECT(strstr(head, "\"intact\":true") != NULL);
    mlas_string_free(head);
}

static void status_names_and_last_error(void) {
    char *out = NULL;
    EXPECT(strcmp(mlas_status_name(MLAS_OK), "MLAS_OK") == 0);
    EXPECT(strcmp(mlas_status_name(MLAS_ERR_INVALID_JSON), "MLAS_ERR_INVALID_JSON") == 0);
    EXPECT(strcmp(mlas_status_name(12345), "MLAS_UNKNOWN_STATUS") == 0);
    EXPECT(strlen(mlas_version()) > 0);
    EXPECT_STATUS(mlas_affiliate_get(engine, scope, S("nobody"), &out), MLAS_ERR_NOT_FOUND);
    EXPECT(strstr(mlas_last_error_message(), "nobody") != NULL);
    EXPECT_STATUS(mlas_affiliate_get(engine, scope, S("a"), &out), MLAS_OK);
    EXPECT(strcmp(mlas_last_error_message(), "") == 0);
    mlas_string_free(out);
}

int main(void) {
    setup();
    char *before = snapshot();

    null_pointers();
    invalid_utf8();
    malformed_json();
    malformed_decimals();
    unknown_ids();
    out_of_range();
    payouts_bad_input();
    audit_bad_input();

    char *after = snapshot();
    EXPECT(strcmp(before, after) == 0);
    free(before);
    free(after);

    status_names_and_last_error();
    mlas_scope_free(scope);
    mlas_engine_free(engine);
    return harness_finish("bad_input");
}
