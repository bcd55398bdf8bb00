/*
 * The MLAS operations runbook as a C program, through libmlas.
 *
 * Creates a three-level sponsor tree, a commission rule, records a sale,
 * explains the split, walks the commission lifecycle (approval after the
 * holding period, a dispute and its resolution), refunds part of the sale, and
 * shows what bad input answers. Every call returns an mlas_status; every
 * string libmlas returns is released with mlas_string_free.
 *
 * Build (see mlas-ffi/run-c-tests.sh):
 *   cc -std=c11 -Wall -Wextra -Wpedantic -Werror -Imlas-ffi/include \
 *      examples/c/runbook.c -Ltarget/debug -lmlas -o runbook
 */
#include <mlas.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pointer + length of a string literal or NUL-terminated string. */
#define S(text) (text), strlen(text)

/* 2026-02-01T12:00:00Z, in microseconds since the Unix epoch. */
static const int64_t T0 = INT64_C(1769947200000000);
static const int64_t DAY = INT64_C(86400000000);

/* Stops the program with the last error when a call fails. */
static void check(mlas_status status, const char *what) {
    if (status != MLAS_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, mlas_status_name(status),
                mlas_last_error_message());
        exit(1);
    }
}

/* Prints a returned JSON document under a title, then releases it. */
static void show(const char *title, char *json) {
    printf("%s\n  %s\n", title, json);
    mlas_string_free(json);
}

/*
 * Copies the value of the n-th (from 0) `"key":"value"` string in a JSON
 * document into buf. A deliberately small extractor for this example; a real
 * host would use its JSON library. Returns 0 when not found.
 */
static int json_string(const char *json, const char *key, int n, char *buf, size_t len) {
    char pattern[64];
    const char *at = json;
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    for (;;) {
        at = strstr(at, pattern);
        if (at == NULL) {
            return 0;
        }
        at += strlen(pattern);
        if (n-- == 0) {
            break;
        }
    }
    const char *end = strchr(at, '"');
    size_t size = end == NULL ? 0 : (size_t)(end - at);
    if (end == NULL || size + 1 > len) {
        return 0;
    }
    memcpy(buf, at, size);
    buf[size] = '\0';
    return 1;
}

/* Prints one line per commission of a JSON array (or of a sale result). */
static void print_commissions(const char *title, char *json) {
    char affiliate[160];
    char amount[64];
    char status[32];
    printf("%s\n", title);
    for (int i = 0; json_string(json, "affiliate_id", i, affiliate, sizeof affiliate) &&
                    json_string(json, "amount", i, amount, sizeof amount) &&
                    json_string(json, "status", i, status, sizeof status);
         i++) {
        printf("  %-8s %10s USD  %s\n", affiliate, amount, status);
    }
    mlas_string_free(json);
}

static void create_affiliate(mlas_engine *engine, mlas_scope *scope, const char *doc) {
    char *json = NULL;
    check(mlas_affiliate_create(engine, scope, S(doc), &json), "create affiliate");
    show("affiliate created:", json);
}

int main(void) {
    mlas_engine *engine = NULL;
    mlas_scope *scope = NULL;
    char *json = NULL;
    char *text = NULL;
    char first[160];
    char second[160];

    printf("libmlas %s\n\n", mlas_version());
    check(mlas_engine_open_memory(NULL, 0, &engine), "open engine");
    check(mlas_engine_set_time(engine, T0), "set time");
    check(mlas_scope_new(S("org-123"), S("runbook"), &scope), "scope");

    /* 2.1 Creating affiliates: a line of three, sponsor first. */
    create_affiliate(engine, scope,
                     "{\"id\":\"aff-789\",\"name\":\"Ada Top\",\"email\":\"ada@example.com\","
                     "\"commission_rate\":\"10\",\"tier\":\"gold\","
                     "\"payout_details\":{\"type\":\"paypal\",\"email\":\"ada@example.com\"}}");
    create_affiliate(engine, scope,
                     "{\"id\":\"aff-456\",\"name\":\"Jane Upline\",\"email\":\"jane@example.com\","
                     "\"commission_rate\":\"10\",\"sponsor_id\":\"aff-789\","
                     "\"payout_details\":{\"type\":\"iban\",\"iban\":\"DE89 3704 0044 0532 0130 00\","
                     "\"bank_name\":\"Commerzbank\",\"account_holder_name\":\"Jane Upline\"}}");
    create_affiliate(engine, scope,
                     "{\"id\":\"aff-123\",\"name\":\"John Affiliate\",\"email\":\"john@example.com\","
                     "\"commission_rate\":\"10\",\"sponsor_id\":\"aff-456\","
                     "\"payout_details\":{\"type\":\"us_bank\",\"account_number\":\"1234567890\","
                     "\"routing_number\":\"021000021\",\"bank_name\":\"Chase Bank\","
                     "\"account_holder_name\":\"John Affiliate\"}}");
    check(mlas_affiliate_upline(engine, scope, S("aff-123"), &json), "upline");
    show("upline of aff-123:", json);

    /* A rule: 10 % / 5 % / 2.5 % up three levels, held 30 days. */
    check(mlas_rule_create(engine, scope,
                           S("{\"id\":\"three-levels\",\"name\":\"Three levels\",\"priority\":10,"
                             "\"levels\":[{\"rate\":{\"kind\":\"percent\",\"percent\":\"10\"}},"
                             "{\"rate\":{\"kind\":\"percent\",\"percent\":\"5\"}},"
                             "{\"rate\":{\"kind\":\"percent\",\"percent\":\"2.5\"}}],"
                             "\"compression\":true,\"holding_days\":30}"),
                           &json),
          "create rule");
    show("rule created:", json);

    /* 2.2 + 2.3 Tracking a sale and calculating its commissions. */
    check(mlas_sale_record(engine, scope,
                           S("{\"id\":\"sale-456\",\"amount\":\"1000.00\",\"currency\":\"USD\","
                             "\"affiliate_id\":\"aff-123\",\"attribution_type\":\"DIRECT\"}"),
                           &json),
          "record sale");
    if (!json_string(json, "id", 1, first, sizeof first) ||
        !json_string(json, "id", 2, second, sizeof second)) {
        fprintf(stderr, "unexpected sale result: %s\n", json);
        return 1;
    }
    print_commissions("sale-456 recorded; its commissions:", json);

    /* Why did I get this amount? */
    check(mlas_sale_explain_text(engine, scope, S("sale-456"), &text), "explain");
    printf("explanation of sale-456:\n%s\n", text);
    mlas_string_free(text);

    /* Approval waits for the holding period: an illegal transition today. */
    mlas_status early = mlas_commission_approve(engine, scope, S(first), &json);
    printf("approve %s now: %s (%s)\n", first, mlas_status_name(early), mlas_last_error_message());

    /* 31 days later every pending commission can be approved. */
    check(mlas_engine_set_time(engine, T0 + 31 * DAY), "advance time");
    check(mlas_commission_approve_available(engine, scope, &json), "approve available");
    print_commissions("approved after the holding period:", json);

    /* A dispute, and its resolution in the affiliate's favour. */
    check(mlas_commission_dispute(engine, scope, S(second), S("customer says the order was not referred"),
                                  &json),
          "dispute");
    print_commissions("disputed:", json);
    check(mlas_commission_resolve(engine, scope, S(second), MLAS_RESOLUTION_APPROVE,
                                  S("referral confirmed by the tracking log"), &json),
          "resolve");
    print_commissions("resolved:", json);

    /* A partial refund reverses the commissions pro rata. */
    check(mlas_refund_create(engine, scope,
                             S("{\"id\":\"refund-1\",\"sale_id\":\"sale-456\",\"amount\":\"250.00\","
                               "\"reason\":\"one item returned\"}"),
                             &json),
          "refund");
    show("refund recorded:", json);
    check(mlas_commission_list(engine, scope, S("{\"sale_id\":\"sale-456\"}"), &json), "list");
    print_commissions("commissions of sale-456 after the refund:", json);

    /* Bad input is answered with a status and a message, and changes nothing. */
    mlas_status bad = mlas_sale_record(engine, scope,
                                       S("{\"id\":\"sale-457\",\"amount\":\"10.001\",\"currency\":\"USD\","
                                         "\"affiliate_id\":\"aff-123\"}"),
                                       &json);
    printf("\nrecord a sale of 10.001 USD: %s (%s)\n", mlas_status_name(bad), mlas_last_error_message());
    bad = mlas_affiliate_get(engine, scope, S("aff-999"), &json);
    printf("read aff-999: %s (%s)\n", mlas_status_name(bad), mlas_last_error_message());

    mlas_scope_free(scope);
    mlas_engine_free(engine);
    printf("\ndone\n");
    return 0;
}
