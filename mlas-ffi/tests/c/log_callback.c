/* The log callback: events reach it at and above its level, from any thread, until it is removed.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <pthread.h>
#include <stdint.h>

/* What the callback saw; the callback may run on several threads at once. */
struct seen {
    pthread_mutex_t lock;
    int events;
    int by_level[6];
    int affiliate_created;
    int migrated;
    int bad_target;
    char last_message[256];
};

static void on_log(void *user_data, int32_t level, const char *target, size_t target_len,
                   const char *message, size_t message_len) {
    struct seen *seen = user_data;
    pthread_mutex_lock(&seen->lock);
    seen->events++;
    if (level >= MLAS_LOG_ERROR && level <= MLAS_LOG_TRACE) {
        seen->by_level[level]++;
    }
    if (target_len < 4 || strncmp(target, "mlas", 4) != 0) {
        seen->bad_target++;
    }
    /* The strings are valid only during the call and are not NUL-terminated: copy them. */
    size_t n =
        message_len < sizeof seen->last_message - 1 ? message_len : sizeof seen->last_message - 1;
    memcpy(seen->last_message, message, n);
    seen->last_message[n] = '\0';
    if (strstr(seen->last_message, "affiliate created") != NULL) {
        seen->affiliate_created++;
    }
    if (strstr(seen->last_message, "migrated the mlas schema") != NULL) {
        seen->migrated++;
    }
    pthread_mutex_unlock(&seen->lock);
}

static struct seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int affiliate_created(void) {
    pthread_mutex_lock(&seen.lock);
    int n = seen.affiliate_created;
    pthread_mutex_unlock(&seen.lock);
    return n;
}

static mlas_status create(mlas_engine *engine, mlas_scope *scope, const char *id) {
    char doc[256];
    char *json = NULL;
    snprintf(
        doc, sizeof doc,
        "{\"id\":\"%s\",\"name\":\"Ann\",\"email\":\"ann@example.com\",\"commission_rate\":\"10\"}",
        id);
    mlas_status status = mlas_affiliate_create(engine, scope, S(doc), &json);
    mlas_string_free(json);
    return status;
}

struct worker {
    mlas_engine *engine;
    mlas_scope *scope;
    int index;
    int failures;
};

static void *work(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < 20; i++) {
        char id[64];
        snprintf(id, sizeof id, "aff-t%d-%d", w->index, i);
        if (create(w->engine, w->scope, id) != MLAS_OK) {
            w->failures++;
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "log_callback_test.db";
    mlas_engine *engine = NULL;
    mlas_scope *scope = NULL;

    remove(path);
    REQUIRE_OK(mlas_engine_open_memory(NULL, 0, &engine));
    REQUIRE_OK(mlas_scope_new(S("org-123"), S("c-tests"), &scope));

    /* Nothing is forwarded before a host asks. */
    REQUIRE_OK(create(engine, scope, "aff-0"));
    EXPECT(seen.events == 0);

    /* Unknown levels are refused and install nothing. */
    EXPECT_STATUS(mlas_log_set_callback(on_log, &seen, 0), MLAS_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(mlas_log_set_callback(on_log, &seen, MLAS_LOG_TRACE + 1),
                  MLAS_ERR_INVALID_ARGUMENT);
    REQUIRE_OK(create(engine, scope, "aff-1"));
    EXPECT(seen.events == 0);

    /* DEBUG: a new affiliate is a debug event of mlas_core. */
    EXPECT_STATUS(mlas_log_set_callback(on_log, &seen, MLAS_LOG_DEBUG), MLAS_OK);
    REQUIRE_OK(create(engine, scope, "aff-2"));
    EXPECT(affiliate_created() == 1);
    EXPECT(seen.by_level[MLAS_LOG_DEBUG] >= 1);
    EXPECT(strstr(seen.last_message, "affiliate=aff-2") != NULL);

    /* From several threads at once. */
    pthread_t threads[2];
    struct worker workers[2];
    for (int i = 0; i < 2; i++) {
        workers[i] = (struct worker){engine, scope, i, 0};
        EXPECT(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
        EXPECT(workers[i].failures == 0);
    }
    EXPECT(affiliate_created() == 41);

    /* INFO: debug events stop; a new database's migration (info, mlas_sqlite) still comes. */
    EXPECT_STATUS(mlas_log_set_callback(on_log, &seen, MLAS_LOG_INFO), MLAS_OK);
    REQUIRE_OK(create(engine, scope, "aff-3"));
    EXPECT(affiliate_created() == 41);
    mlas_engine *file = NULL;
    REQUIRE_OK(mlas_engine_open(S(path), NULL, 0, &file));
    EXPECT(seen.migrated >= 1);
    EXPECT(seen.by_level[MLAS_LOG_INFO] >= 1);
    mlas_engine_free(file);
    remove(path);

    /* NULL turns forwarding off; the level is then ignored. */
    int events = seen.events;
    EXPECT_STATUS(mlas_log_set_callback(NULL, NULL, 0), MLAS_OK);
    REQUIRE_OK(mlas_engine_open(S(path), NULL, 0, &file));
    REQUIRE_OK(create(file, scope, "aff-4"));
    mlas_engine_free(file);
    remove(path);
    EXPECT(seen.events == events);
    EXPECT(seen.bad_target == 0);
    EXPECT(seen.by_level[MLAS_LOG_TRACE] == 0);

    /* It can be turned on again. */
    EXPECT_STATUS(mlas_log_set_callback(on_log, &seen, MLAS_LOG_TRACE), MLAS_OK);
    REQUIRE_OK(create(engine, scope, "aff-5"));
    EXPECT(affiliate_created() == 42);
    EXPECT_STATUS(mlas_log_set_callback(NULL, NULL, 0), MLAS_OK);

    mlas_scope_free(scope);
    mlas_engine_free(engine);
    return harness_finish("log_callback");
}
