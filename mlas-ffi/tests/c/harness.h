/* A tiny test harness for the libmlas C tests: counts checks, prints failures. */
#ifndef MLAS_TEST_HARNESS_H
#define MLAS_TEST_HARNESS_H

#include <mlas.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(text) (text), strlen(text)

static int harness_passed = 0;
static int harness_failed = 0;

static inline void harness_check(int ok, const char *what, const char *file, int line) {
    if (ok) {
        harness_passed++;
    } else {
        harness_failed++;
        fprintf(stderr, "%s:%d: FAILED: %s (last error: %s)\n", file, line, what,
                mlas_last_error_message());
    }
}

/* A check that `call` returns `status`. */
#define EXPECT_STATUS(call, status)                                             \
    do {                                                                        \
        mlas_status got_ = (call);                                              \
        if (got_ != (status)) {                                                 \
            fprintf(stderr, "%s:%d: got %s, expected %s\n", __FILE__, __LINE__, \
                    mlas_status_name(got_), mlas_status_name(status));          \
        }                                                                       \
        harness_check(got_ == (status), #call, __FILE__, __LINE__);             \
    } while (0)

#define EXPECT(cond) harness_check((cond) != 0, #cond, __FILE__, __LINE__)

/* Stops the test at once: for setup steps that later checks depend on. */
#define REQUIRE_OK(call)                                                                    \
    do {                                                                                    \
        mlas_status got_ = (call);                                                          \
        if (got_ != MLAS_OK) {                                                              \
            fprintf(stderr, "%s:%d: setup failed: %s: %s: %s\n", __FILE__, __LINE__, #call, \
                    mlas_status_name(got_), mlas_last_error_message());                     \
            exit(2);                                                                        \
        }                                                                                   \
    } while (0)

/* Prints the closing line that CI reads, and gives the exit code. */
static inline int harness_finish(const char *name) {
    printf("%s: %d passed, %d failed\n", name, harness_passed, harness_failed);
    return harness_failed == 0 ? 0 : 1;
}

/* Copies the n-th (from 0) `"key":"value"` string of a JSON document into buf. */
static inline int json_string(const char *json, const char *key, int n, char *buf, size_t len) {
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
    if (end == NULL || (size_t)(end - at) + 1 > len) {
        return 0;
    }
    memcpy(buf, at, (size_t)(end - at));
    buf[end - at] = '\0';
    return 1;
}

#endif
