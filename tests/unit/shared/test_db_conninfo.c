/*
 * test_db_conninfo.c -- unit tests of kv_db_gssencmode_default
 * (shared/kv_db.c): the services connect with gssencmode=disable only when
 * the user configured no gssencmode anywhere libpq would read one (the
 * URL, PGGSSENCMODE, a service file named by the URL or PGSERVICE); what a
 * user configured is never overridden.  Each check is named after the
 * behaviour it proves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "kv_db.h"

/* 1 when the default is "disable" for url. */
static int s_disabled(const char *url)
{
    const char *d = kv_db_gssencmode_default(url);
    return d && strcmp(d, "disable") == 0;
}

static void test_default_applies(void)
{
    KVT_OK(s_disabled("postgresql://127.0.0.1:54320/kaivox"),
           "the embedded cluster's URL: gssencmode=disable is added");
    KVT_OK(s_disabled("postgresql://db.example:5432/kaivox?sslmode=require"),
           "a URL with other parameters but no gssencmode: added");
    KVT_OK(s_disabled("host=/var/run/postgresql dbname=kaivox"),
           "a key=value string without gssencmode: added");
}

static void test_user_choice_stands(void)
{
    KVT_OK(kv_db_gssencmode_default("postgresql://h/kaivox?gssencmode=prefer") == NULL,
           "gssencmode=prefer in the URL: nothing added, libpq reads the URL's");
    KVT_OK(kv_db_gssencmode_default("postgresql://h/kaivox?gssencmode=require") == NULL,
           "gssencmode=require in the URL: nothing added");
    KVT_OK(kv_db_gssencmode_default("host=h dbname=kaivox gssencmode=prefer") == NULL,
           "gssencmode in a key=value string: nothing added");
    KVT_OK(kv_db_gssencmode_default("postgresql:///kaivox?service=prod") == NULL,
           "a service named in the URL (its file may set gssencmode): nothing added");
    KVT_OK(kv_db_gssencmode_default("postgresql://h:notaport:/x?=") == NULL,
           "a URL libpq cannot parse: nothing added (libpq reports it at connect)");
    KVT_OK(kv_db_gssencmode_default(NULL) == NULL, "no URL: nothing added");

    setenv("PGGSSENCMODE", "prefer", 1);
    KVT_OK(kv_db_gssencmode_default("postgresql://127.0.0.1:54320/kaivox") == NULL,
           "PGGSSENCMODE in the environment: nothing added, libpq reads it");
    unsetenv("PGGSSENCMODE");
    setenv("PGSERVICE", "prod", 1);
    KVT_OK(kv_db_gssencmode_default("postgresql://127.0.0.1:54320/kaivox") == NULL,
           "PGSERVICE in the environment: nothing added");
    unsetenv("PGSERVICE");
    setenv("PGGSSENCMODE", "", 1);
    KVT_OK(kv_db_gssencmode_default("postgresql://127.0.0.1:54320/kaivox") == NULL,
           "PGGSSENCMODE set but empty: nothing added (libpq reads, and refuses, it)");
    unsetenv("PGGSSENCMODE");
    KVT_OK(s_disabled("postgresql://127.0.0.1:54320/kaivox"),
           "with PGGSSENCMODE and PGSERVICE gone again: added");
}

int main(void)
{
    unsetenv("PGGSSENCMODE");
    unsetenv("PGSERVICE");
    test_default_applies();
    test_user_choice_stands();
    return kvt_done();
}
