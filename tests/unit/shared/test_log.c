/*
 * test_log.c -- unit tests of shared/kv_log.c: every line is one valid
 * JSON object with ts, level, service, request_id and msg; quotes,
 * backslashes, control characters and invalid UTF-8 are escaped; the
 * KAIVOX_LOG_LEVEL filter drops lower levels.  stderr is redirected to a
 * temporary file and read back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/kvt.h"
#include "kv_log.h"

static FILE *s_tmp;
static int s_saved_fd = -1;

static void s_capture(void)
{
    fflush(stderr);
    s_tmp = tmpfile();
    s_saved_fd = dup(STDERR_FILENO);
    dup2(fileno(s_tmp), STDERR_FILENO);
}

/* Restores stderr; returns what was written (caller frees). */
static char *s_release(void)
{
    fflush(stderr);
    dup2(s_saved_fd, STDERR_FILENO);
    close(s_saved_fd);
    long n = ftell(s_tmp);
    if (n < 0)
        n = 0;
    char *buf = calloc(1, (size_t)n + 1);
    rewind(s_tmp);
    size_t got = fread(buf, 1, (size_t)n, s_tmp);
    buf[got] = '\0';
    fclose(s_tmp);
    return buf;
}

int main(void)
{
    setenv("KAIVOX_LOG_LEVEL", "info", 1);
    kv_log_init("crm");

    s_capture();
    kv_info("req-1", "quote \" backslash \\ newline \n tab \t bell \a bad \xff end %d", 42);
    char *out = s_release();

    size_t len = strlen(out);
    KVT_OK(len > 0 && out[len - 1] == '\n' && strchr(out, '\n') == out + len - 1,
           "a log call writes exactly one line");
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    KVT_OK(json_is_object(j), "the line is a valid JSON object");
    KVT_EQ_STR(json_string_value(json_object_get(j, "level")), "info", "level is info");
    KVT_EQ_STR(json_string_value(json_object_get(j, "service")), "crm", "service is the init name");
    KVT_EQ_STR(json_string_value(json_object_get(j, "request_id")), "req-1", "request_id is carried");
    KVT_EQ_STR(json_string_value(json_object_get(j, "msg")),
               "quote \" backslash \\ newline \n tab \t bell \a bad \xef\xbf\xbd end 42",
               "msg round-trips with escapes; invalid UTF-8 becomes U+FFFD");
    const char *ts = json_string_value(json_object_get(j, "ts"));
    KVT_OK(ts && strlen(ts) == 24 && ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z',
           "ts is RFC 3339 UTC with milliseconds");
    json_decref(j);
    free(out);

    s_capture();
    kv_warn(NULL, "no request");
    out = s_release();
    j = json_loads(out, 0, &err);
    KVT_OK(json_is_object(j) && json_object_get(j, "request_id") == NULL,
           "a line without a request id has no request_id key");
    json_decref(j);
    free(out);

    s_capture();
    kv_debug("r", "hidden at info");
    out = s_release();
    KVT_EQ_INT((long long)strlen(out), 0, "debug lines are dropped at level info");
    free(out);

    char big[20000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    s_capture();
    kv_error("r", "%s", big);
    out = s_release();
    j = json_loads(out, 0, &err);
    KVT_OK(json_is_object(j) && strlen(json_string_value(json_object_get(j, "msg"))) == 16384,
           "a very long message is cut at 16 KiB and stays valid JSON");
    json_decref(j);
    free(out);

    setenv("KAIVOX_LOG_LEVEL", "error", 1);
    kv_log_init("crm");
    s_capture();
    kv_warn("r", "hidden at error");
    kv_error("r", "shown");
    out = s_release();
    KVT_OK(strstr(out, "hidden") == NULL && strstr(out, "shown") != NULL,
           "KAIVOX_LOG_LEVEL=error keeps only errors");
    free(out);

    return kvt_done();
}
