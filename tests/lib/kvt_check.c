/*
 * kvt_check.c -- the assertion half of the kvt test framework (kvt.h):
 * counting checks and the per-binary summary.  Kept apart from the HTTP
 * half (kvt.c) so unit tests link it without libcurl: every test binary,
 * unit or end-to-end, links this file.
 *
 * Each check prints exactly one line, "PASS <name>" or "FAIL <name>: <why>",
 * flushed at once so that a crash later in the binary loses nothing;
 * tests/run.sh counts those lines.
 */
#include "kvt.h"

#include <stdarg.h>
#include <stdio.h>

int kvt_passed, kvt_failed;

void kvt_check(int ok, const char *why, const char *name, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, name);
    vsnprintf(buf, sizeof buf, name, ap);
    va_end(ap);
    if (ok) {
        kvt_passed++;
        printf("PASS %s\n", buf);
    } else {
        kvt_failed++;
        printf("FAIL %s: %s\n", buf, why ? why : "check failed");
    }
    fflush(stdout);
}

int kvt_done(void)
{
    printf("# %d passed, %d failed\n", kvt_passed, kvt_failed);
    fflush(stdout);
    return kvt_failed == 0 && kvt_passed > 0 ? 0 : 1;
}
