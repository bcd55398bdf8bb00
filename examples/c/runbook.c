/*
 * The MLAS operations runbook as a C program, through libmlas.
 *
 * Creates a three-level sponsor tree, a commission rule, records a sale,
 * explains the split, walks the commission lifecycle (approval after the
 * holding period, a dispute and its resolution), refunds part of the sale, and
 * schedules and processes a payout batch through a provider written in C
 * (callbacks + a user-data pointer), retries the payout that failed, prints
 * the batch statistics, and shows what bad input answers.
 *
 * Usage: runbook [DATABASE_FILE]   (without a file, the engine is in memory) Every call returns an
 * mlas_status; every string libmlas returns is released with mlas_string_free.
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

/*
 * A payout provider in C: a pretend bank. It pays each idempotency key at most
 * once, and refuses the first attempt for one affiliate (a frozen account).
 */
struct bank {
    char paid[16][160];
    int paid_count;
    int refusals_left;
    const char *refused_affiliate;
};

static int32_t bank_send(void *user_data, const char *instruction, size_t len, char *text,
                         size_t cap) {
    struct bank *bank = user_data;
    char json[4096];
    char key[160];
    char affiliate[160];
    char amount[64];
    if (len >= sizeof json) {
        snprintf(text, cap, "instruction too long");
        return MLAS_PROVIDER_FAILED;
    }
    memcpy(json, instruction, len); /* not NUL-terminated: copy first */
    json[len] = '\0';
    if (!json_string(json, "idempotency_key", 0, key, sizeof key) ||
        !json_string(json, "affiliate_id", 0, affiliate, sizeof affiliate) ||
        !json_string(json, "amount", 0, amount, sizeof amount)) {
        snprintf(text, cap, "unreadable instruction");
        return MLAS_PROVIDER_FAILED;
    }
    for (int i = 0; i < bank->paid_count; i++) {
        if (strcmp(bank->paid[i], key) == 0) { /* already paid: same answer, no money */
            snprintf(text, cap, "bank-%s", key);
            return MLAS_PROVIDER_PAID;
        }
    }
    if (strcmp(affiliate, bank->refused_affiliate) == 0 && bank->refusals_left > 0) {
        bank->refusals_left--;
        snprintf(text, cap, "account frozen, call the bank");
        return MLAS_PROVIDER_FAILED_RETRYABLE;
    }
    if (bank->paid_count == 16) {
        snprintf(text, cap, "bank ledger full");
        return MLAS_PROVIDER_FAILED;
    }
    snprintf(bank->paid[bank->paid_count++], sizeof bank->paid[0], "%s", key);
    printf("  [bank] paid %s USD to %s under %s\n", amount, affiliate, key);
    snprintf(text, cap, "bank-%s", key);
    return MLAS_PROVIDER_PAID;
}

static int32_t bank_status(void *user_data, const char *payout_id, size_t len, char *text,
                           size_t cap) {
    struct bank *bank = user_data;
    for (int i = 0; i < bank->paid_count; i++) {
        if (strlen(bank->paid[i]) == len && memcmp(bank->paid[i], payout_id, len) == 0) {
            snprintf(text, cap, "bank-%s", bank->paid[i]);
            return MLAS_PROVIDER_PAID;
        }
    }
    return MLAS_PROVIDER_NOT_FOUND;
}

/*
 * Prints one line per payout of a JSON array or a schedule result; `skip` is
 * how many "status" strings come before the payouts' (1 for the batch's).
 */
static void print_payouts(const char *title, char *json, int skip) {
    char affiliate[160];
    char amount[64];
    char status[32];
    printf("%s\n", title);
    for (int i = 0; json_string(json, "affiliate_id", i, affiliate, sizeof affiliate) &&
                    json_string(json, "amount", i, amount, sizeof amount) &&
                    json_string(json, "status", i + skip, status, sizeof status);
         i++) {
        printf("  %-8s %10s USD  %s\n", affiliate, amount, status);
    }
    mlas_string_free(json);
}

/* Receives an audit export: counts lines and bytes. */
struct export_sink {
    size_t bytes;
    size_t lines;
};

static int32_t count_export(void *user_data, const uint8_t *bytes, size_t len) {
    struct export_sink *sink = user_data;
    sink->bytes += len;
    for (size_t i = 0; i < len; i++) {
        sink->lines += bytes[i] == '\n';
    }
    return 0;
}

static void create_affiliate(mlas_engine *engine, mlas_scope *scope, const char *doc) {
    char *json = NULL;
    check(mlas_affiliate_create(engine, scope, S(doc), &json), "create affiliate");
    show("affiliate created:", json);
}

int main(int argc, char **argv) {
    mlas_engine *engine = NULL;
    mlas_scope *scope = NULL;
    char *json = NULL;
    char *text = NULL;
    char first[160];
    char second[160];

    printf("libmlas %s\n\n", mlas_version());
    if (argc > 1) {
        check(mlas_engine_open(S(argv[1]), NULL, 0, &engine), "open engine");
        printf("engine on SQLite file %s\n\n", argv[1]);
    } else {
        check(mlas_engine_open_memory(NULL, 0, &engine), "open engine");
    }
    check(mlas_engine_set_time(engine, T0), "set time");
    check(mlas_scope_new(S("org-123"), S("runbook"), &scope), "scope");

    /* 2.1 Creating affiliates: a line of three, sponsor first. */
    create_affiliate(engine, scope,
                     "{\"id\":\"aff-789\",\"name\":\"Ada Top\",\"email\":\"ada@example.com\","
                     "\"commission_rate\":\"10\",\"tier\":\"gold\","
                     "\"payout_details\":{\"type\":\"paypal\",\"email\":\"ada@example.com\"}}");
    create_affiliate(
        engine, scope,
        "{\"id\":\"aff-456\",\"name\":\"Jane Upline\",\"email\":\"jane@example.com\","
        "\"commission_rate\":\"10\",\"sponsor_id\":\"aff-789\","
        "\"payout_details\":{\"type\":\"iban\",\"iban\":\"DE89 3704 0044 0532 0130 00\","
        "\"bank_name\":\"Commerzbank\",\"account_holder_name\":\"Jane Upline\"}}");
    create_affiliate(
        engine, scope,
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
    check(mlas_commission_dispute(engine, scope, S(second),
                                  S("customer says the order was not referred"), &json),
          "dispute");
    print_commissions("disputed:", json);
    check(mlas_commission_resolve(engine, scope, S(second), MLAS_RESOLUTION_APPROVE,
                                  S("referral confirmed by the tracking log"), &json),
          "resolve");
    print_commissions("resolved:", json);

    /* A partial refund reverses the commissions pro rata. */
    check(
        mlas_refund_create(engine, scope,
                           S("{\"id\":\"refund-1\",\"sale_id\":\"sale-456\",\"amount\":\"250.00\","
                             "\"reason\":\"one item returned\"}"),
                           &json),
        "refund");
    show("refund recorded:", json);
    check(mlas_commission_list(engine, scope, S("{\"sale_id\":\"sale-456\"}"), &json), "list");
    print_commissions("commissions of sale-456 after the refund:", json);

    /* 2.4 Scheduling payouts: every approved commission, for five days later. */
    char request[256];
    snprintf(request, sizeof request, "{\"batch_id\":\"batch-123\",\"scheduled_for\":%lld}",
             (long long)(T0 + 36 * DAY));
    check(mlas_payout_schedule(engine, scope, S(request), &json), "schedule payouts");
    print_payouts("batch-123 scheduled, one payout per affiliate:", json, 1);

    /* 2.5 Processing the batch through the C provider. */
    struct bank bank = {.paid_count = 0, .refusals_left = 1, .refused_affiliate = "aff-456"};
    mlas_provider *provider = NULL;
    check(mlas_provider_new(bank_send, bank_status, &bank, &provider), "provider");
    check(mlas_engine_set_time(engine, T0 + 36 * DAY), "advance time");
    check(mlas_batch_process(engine, scope, S("batch-123"), provider, 0, &json), "process batch");
    show("batch processed; statistics:", json);

    /* 4.2 Failed payouts, and a retry once the bank unfroze the account. */
    check(mlas_payout_list(engine, scope, S("{\"status\":\"FAILED\"}"), &json), "failed payouts");
    char failed_payout[160];
    char reason[256];
    if (!json_string(json, "id", 0, failed_payout, sizeof failed_payout) ||
        !json_string(json, "failure_reason", 0, reason, sizeof reason)) {
        fprintf(stderr, "expected one failed payout: %s\n", json);
        return 1;
    }
    printf("failed payout %s: %s\n", failed_payout, reason);
    mlas_string_free(json);
    check(mlas_payout_retry(engine, scope, S(failed_payout), provider, &json), "retry");
    mlas_string_free(json);
    check(mlas_batch_stats(engine, scope, S("batch-123"), &json), "batch stats");
    show("statistics after the retry:", json);
    check(mlas_payout_list(engine, scope, S("{\"batch_id\":\"batch-123\"}"), &json), "payouts");
    print_payouts("payouts of batch-123:", json, 0);
    mlas_provider_free(provider);

    /* 3.1 Key metrics to monitor. */
    check(mlas_metrics_json(engine, scope, &json), "metrics");
    show("metrics snapshot:", json);

    /* 4.3 The audit trail: a commission's history, verification, checkpoint, export. */
    char query[256];
    snprintf(query, sizeof query, "{\"resource_id\":\"%s\",\"limit\":10}", second);
    check(mlas_audit_query(engine, scope, S(query), &json), "audit query");
    char kind[64];
    printf("audit trail of %s:\n", second);
    for (int i = 0; json_string(json, "kind", i, kind, sizeof kind); i++) {
        printf("  %s\n", kind);
    }
    mlas_string_free(json);
    check(mlas_audit_checkpoint(engine, scope, &text), "checkpoint");
    printf("checkpoint to keep outside the database:\n  %s\n", text);
    check(mlas_audit_verify_checkpoint(engine, scope, S(text), &json), "verify");
    mlas_string_free(text);
    show("audit chain verified against the checkpoint:", json);
    struct export_sink sink = {0, 0};
    check(
        mlas_audit_export(engine, scope, MLAS_AUDIT_FORMAT_JSONL, 0, 0, count_export, &sink, &json),
        "export");
    printf("exported %zu records as JSON Lines (%zu bytes)\n", sink.lines, sink.bytes);
    mlas_string_free(json);
    check(mlas_engine_health(engine, scope, &json), "health");
    show("health:", json);

    /* Bad input is answered with a status and a message, and changes nothing. */
    mlas_status bad =
        mlas_sale_record(engine, scope,
                         S("{\"id\":\"sale-457\",\"amount\":\"10.001\",\"currency\":\"USD\","
                           "\"affiliate_id\":\"aff-123\"}"),
                         &json);
    printf("\nrecord a sale of 10.001 USD: %s (%s)\n", mlas_status_name(bad),
           mlas_last_error_message());
    bad = mlas_affiliate_get(engine, scope, S("aff-999"), &json);
    printf("read aff-999: %s (%s)\n", mlas_status_name(bad), mlas_last_error_message());

    mlas_scope_free(scope);
    mlas_engine_free(engine);
    printf("\ndone\n");
    return 0;
}
