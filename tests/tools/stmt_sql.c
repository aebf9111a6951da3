/*
 * stmt_sql.c -- prints named prepared statements of the services as
 * pgbench script lines, so that `make bench` (scripts/bench.sh) measures
 * PostgreSQL on exactly the SQL the services run, never on a copy that
 * could drift from it.
 *
 *   stmt_sql SCHEMA NAME [VAR...]
 *
 * SCHEMA is scheduling or crm (whose statement table is linked in: the
 * services' db.o); NAME the statement; VAR... the pgbench variables that
 * stand for $1, $2, ... in order ("-" for SQL NULL).  The output is one
 * line: the statement with each $n replaced by :VARn, ending in ";"; run it
 * as the service's role, whose search_path is its schema.  Two rewrites keep pgbench
 * from misreading the text: a string literal that holds a colon (the
 * "HH24:MI:SS" of to_char) is written as E'...' with the colon as \072,
 * and "::" casts are left alone (pgbench skips them itself).
 * Exit 0, or 2 on a usage error or an unknown statement.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_db.h"

extern const kv_stmt_t sched_stmts[];
extern const kv_stmt_t crm_stmts[];

/* Writes the literal that starts at s (a ') to stdout; returns the
 * position after its closing quote. */
static const char *s_literal(const char *s)
{
    const char *e = s + 1;
    for (;;) {
        if (!*e)
            break;
        if (*e == '\'' && e[1] == '\'') {
            e += 2;
            continue;
        }
        if (*e == '\'')
            break;
        e++;
    }
    int colon = memchr(s, ':', (size_t)(e - s)) != NULL;
    if (!colon) {
        fwrite(s, 1, (size_t)(e - s) + (*e ? 1 : 0), stdout);
        return *e ? e + 1 : e;
    }
    fputs("E'", stdout);
    for (const char *c = s + 1; c < e; c++) {
        if (*c == ':')
            fputs("\\072", stdout);
        else if (*c == '\\')
            fputs("\\\\", stdout);
        else
            putchar(*c);
    }
    putchar('\'');
    return *e ? e + 1 : e;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: stmt_sql scheduling|crm NAME [VAR...]\n");
        return 2;
    }
    const kv_stmt_t *t = strcmp(argv[1], "scheduling") == 0 ? sched_stmts
                       : strcmp(argv[1], "crm") == 0 ? crm_stmts : NULL;
    const kv_stmt_t *st = NULL;
    for (; t && t->name; t++)
        if (strcmp(t->name, argv[2]) == 0)
            st = t;
    if (!st) {
        fprintf(stderr, "stmt_sql: no statement %s in %s\n", argv[2], argv[1]);
        return 2;
    }
    int nvars = argc - 3;
    for (const char *s = st->sql; *s;) {
        if (*s == '\'') {
            s = s_literal(s);
            continue;
        }
        if (*s == '$' && isdigit((unsigned char)s[1])) {
            char *end;
            long n = strtol(s + 1, &end, 10);
            if (n < 1 || n > nvars) {
                fprintf(stderr, "stmt_sql: %s uses $%ld, %d variables given\n", st->name, n,
                        nvars);
                return 2;
            }
            const char *v = argv[2 + n];
            if (strcmp(v, "-") == 0)
                fputs("NULL", stdout);
            else
                printf(":%s", v);
            s = end;
            continue;
        }
        putchar(*s == '\n' ? ' ' : *s);
        s++;
    }
    puts(";");
    return 0;
}
