/*
 * test_gateway_admin_cli.c -- kaivoxctl end to end: each command prints one
 * JSON value on stdout and exits 0, or a message on stderr and exits 1
 * (server error) / 2 (usage error).
 */
#include <sys/wait.h>
#include <unistd.h>

#include "gw_e2e.h"

typedef struct {
    int rc;                  /* exit status, -1 when it did not run */
    json_t *out;             /* stdout parsed as one JSON value, or NULL */
    char err[4096];          /* stderr */
    char raw[8192];          /* stdout */
} cli_t;

/* Runs kaivoxctl with args (a shell word list, single-quoted as needed)
 * and env (may be ""). */
static cli_t s_cli(const char *env, const char *args)
{
    cli_t c;
    memset(&c, 0, sizeof c);
    c.rc = -1;
    char errpath[] = "/tmp/kvt-cli-XXXXXX";
    int fd = mkstemp(errpath);
    if (fd < 0)
        return c;
    close(fd);
    char bin[1024], cmd[4096];
    const char *dir = kvt_env("KAIVOX_BIN_DIR", NULL);
    if (dir)
        snprintf(bin, sizeof bin, "%s/kaivoxctl", dir);
    else
        snprintf(bin, sizeof bin, "%s/bin/kaivoxctl", kvt_env("KVT_ROOT", "."));
    snprintf(cmd, sizeof cmd, "env KAIVOX_ADMIN_URL='%s' KAIVOX_ADMIN_TOKEN='%s' %s '%s' %s 2>'%s'",
             kvt_env("KVT_ADMIN_URL", ""), kvt_env("KVT_ADMIN_TOKEN", ""), env, bin, args, errpath);
    FILE *p = popen(cmd, "r");
    if (!p)
        return c;
    /* all of stdout (a tenant list grows with every test that made a
     * tenant); its first 8 KiB also in c.raw */
    size_t cap = 1 << 16, len = 0, n;
    char *all = malloc(cap);
    while (all && (n = fread(all + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(all, cap * 2);
            if (!bigger) {
                free(all);
                all = NULL;
                break;
            }
            all = bigger;
            cap *= 2;
        }
    }
    if (all)
        all[len] = '\0';
    n = len < sizeof c.raw - 1 ? len : sizeof c.raw - 1;
    if (all)
        memcpy(c.raw, all, n);
    c.raw[n] = '\0';
    int st = pclose(p);
    c.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    FILE *e = fopen(errpath, "r");
    if (e) {
        n = fread(c.err, 1, sizeof c.err - 1, e);
        c.err[n] = '\0';
        fclose(e);
    }
    unlink(errpath);
    c.out = all ? json_loads(all, JSON_DECODE_ANY, NULL) : NULL;
    free(all);
    return c;
}

static long long s_int(const cli_t *c, const char *field)
{
    return json_integer_value(json_object_get(c->out, field));
}

static const char *s_str(const cli_t *c, const char *field)
{
    return json_string_value(json_object_get(c->out, field));
}

int main(void)
{
    char args[1024];
    cli_t c = s_cli("", "--help");
    KVT_OK(c.rc == 0 && strstr(c.raw, "tenant create"), "kaivoxctl --help prints usage and exits 0");
    json_decref(c.out);

    c = s_cli("", "tenant create --name 'CLI salon' --timezone Europe/Lisbon");
    long long tid = s_int(&c, "id");
    KVT_EQ_INT(c.rc, 0, "tenant create exits 0");
    KVT_OK(json_is_object(c.out) && tid > 0, "tenant create prints the tenant with its id");
    KVT_EQ_STR(s_str(&c, "name"), "CLI salon", "tenant create prints the name");
    KVT_EQ_STR(s_str(&c, "timezone"), "Europe/Lisbon", "tenant create prints the time zone");
    KVT_EQ_STR(c.err, "", "tenant create writes nothing on stderr");
    json_decref(c.out);

    c = s_cli("", "tenant create --name 'Bad zone' --timezone Nowhere/City");
    KVT_EQ_INT(c.rc, 1, "an unknown time zone exits 1");
    KVT_OK(c.raw[0] == '\0', "a failed command prints nothing on stdout");
    KVT_OK(strstr(c.err, "timezone") != NULL, "the error on stderr names the timezone field");
    json_decref(c.out);

    c = s_cli("", "tenant list");
    int found = 0;
    size_t i;
    json_t *t;
    json_array_foreach(c.out, i, t)
        found |= json_integer_value(json_object_get(t, "id")) == tid;
    KVT_OK(c.rc == 0 && json_is_array(c.out) && found, "tenant list prints an array with the new tenant");
    json_decref(c.out);

    snprintf(args, sizeof args, "key create --tenant %lld --name 'Website widget'", tid);
    c = s_cli("", args);
    char key[64] = "";
    if (s_str(&c, "key"))
        snprintf(key, sizeof key, "%s", s_str(&c, "key"));
    long long kid = s_int(&c, "id");
    KVT_EQ_INT(c.rc, 0, "key create exits 0");
    KVT_OK(strncmp(key, "kv1_", 4) == 0 && strlen(key) == 42 && kid > 0, "key create prints id and the kv1_ key");
    KVT_EQ_STR(s_str(&c, "name"), "Website widget", "key create prints the name");
    json_decref(c.out);
    kvt_resp_t r = kvt_api(key, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "the key from kaivoxctl works on the public API");
    kvt_resp_free(&r);

    snprintf(args, sizeof args, "key list --tenant %lld", tid);
    c = s_cli("", args);
    KVT_OK(c.rc == 0 && json_array_size(c.out) == 1, "key list prints the tenant's one key");
    KVT_OK(!strstr(c.raw, key) && !strstr(c.raw, key + 12), "key list shows no secret");
    KVT_OK(json_object_get(json_array_get(c.out, 0), "revoked_at") != NULL &&
           json_object_get(json_array_get(c.out, 0), "last_used_at") != NULL,
           "key list shows last_used_at and revoked_at");
    KVT_OK(json_is_false(json_object_get(json_array_get(c.out, 0), "legacy")),
           "key list shows whether a key is legacy (this one is not)");
    json_decref(c.out);

    snprintf(args, sizeof args, "service create --tenant %lld --name 'Hot towel shave' --duration 45 --price 30.00", tid);
    c = s_cli("", args);
    long long sid = s_int(&c, "id");
    KVT_OK(c.rc == 0 && sid > 0, "service create prints the service with its id");
    KVT_OK(json_number_value(json_object_get(c.out, "price")) == 30.0, "service create prints the price");
    json_decref(c.out);
    snprintf(args, sizeof args, "service update --tenant %lld --id %lld --price 35.5 --name 'Shave'", tid, sid);
    c = s_cli("", args);
    KVT_OK(c.rc == 0 && json_number_value(json_object_get(c.out, "price")) == 35.5, "service update changes the price");
    KVT_EQ_STR(s_str(&c, "name"), "Shave", "service update changes the name");
    json_decref(c.out);
    snprintf(args, sizeof args, "service update --tenant %lld --id %lld --active false", tid, sid);
    c = s_cli("", args);
    KVT_OK(c.rc == 0 && json_is_false(json_object_get(c.out, "active")), "service update --active false deactivates");
    json_decref(c.out);
    snprintf(args, sizeof args, "service create --tenant %lld --name X --duration 45 --price abc", tid);
    c = s_cli("", args);
    KVT_EQ_INT(c.rc, 2, "a malformed price is a usage error (exit 2)");
    json_decref(c.out);

    snprintf(args, sizeof args,
             "staff create --tenant %lld --name 'Maria' --specialties cuts,colour "
             "--hours mon-fri=09:00-12:30 --hours mon-fri=13:30-17:30 --hours sat=10:00-14:00", tid);
    c = s_cli("", args);
    long long staff = s_int(&c, "id");
    KVT_OK(c.rc == 0 && staff > 0, "staff create prints the staff member with an id");
    KVT_OK(c.rc == 0 && strstr(c.raw, "13:30") && strstr(c.raw, "10:00"), "staff create sends every interval");
    json_decref(c.out);
    snprintf(args, sizeof args, "staff update --tenant %lld --id %lld --active false", tid, staff);
    c = s_cli("", args);
    KVT_OK(c.rc == 0 && json_is_false(json_object_get(c.out, "active")), "staff update --active false deactivates");
    json_decref(c.out);
    snprintf(args, sizeof args, "staff create --tenant %lld --name X --hours funday=09:00-10:00", tid);
    c = s_cli("", args);
    KVT_EQ_INT(c.rc, 2, "an unknown day is a usage error (exit 2)");
    json_decref(c.out);
    snprintf(args, sizeof args, "staff create --tenant %lld --name X --hours mon=10:00-09:00", tid);
    c = s_cli("", args);
    KVT_EQ_INT(c.rc, 2, "an interval ending before it starts is a usage error (exit 2)");
    json_decref(c.out);

    snprintf(args, sizeof args, "key revoke --tenant %lld --id %lld", tid, kid);
    c = s_cli("", args);
    KVT_OK(c.rc == 0 && json_is_string(json_object_get(c.out, "revoked_at")), "key revoke prints revoked_at");
    json_decref(c.out);
    snprintf(args, sizeof args, "key revoke --tenant %lld --id %lld", tid, kid + 1000000);
    c = s_cli("", args);
    KVT_EQ_INT(c.rc, 1, "revoking an unknown key exits 1");
    KVT_OK(strstr(c.err, "not found") != NULL, "the server's message reaches stderr");
    json_decref(c.out);

    c = s_cli("", "tenant create");
    KVT_EQ_INT(c.rc, 2, "a missing --name is a usage error (exit 2)");
    json_decref(c.out);
    c = s_cli("", "key list --tenant abc");
    KVT_EQ_INT(c.rc, 2, "a non-numeric --tenant is a usage error (exit 2)");
    json_decref(c.out);
    c = s_cli("", "frobnicate now");
    KVT_EQ_INT(c.rc, 2, "an unknown command is a usage error (exit 2)");
    json_decref(c.out);
    c = s_cli("KAIVOX_ADMIN_TOKEN=wrong-token-wrong-token", "tenant list");
    KVT_EQ_INT(c.rc, 1, "a wrong admin token exits 1");
    KVT_OK(strstr(c.err, "token") != NULL, "a wrong token is explained on stderr");
    json_decref(c.out);
    c = s_cli("KAIVOX_ADMIN_URL=http://127.0.0.1:1", "tenant list");
    KVT_EQ_INT(c.rc, 1, "an unreachable admin API exits 1");
    json_decref(c.out);
    return kvt_done();
}
