/*
 * kaivoxctl.c -- the operator CLI: tenants, API keys, services and staff
 * through the gateway's admin API (libcurl + jansson).
 *
 * Every command prints exactly one JSON value on stdout (the "data" of the
 * answer's envelope) and exits 0; on failure it prints a readable message
 * on stderr (the server's message and field errors) and exits 1, or 2 for a
 * usage error.  Settings: KAIVOX_ADMIN_URL (default http://127.0.0.1:8081)
 * and KAIVOX_ADMIN_TOKEN (default: the contents of var/admin.token, looked
 * for in the current directory and then next to the binary's ../var).
 * `kaivoxctl keygen` is the one offline command: it writes the bus's CURVE
 * keypairs (kv_curve.h) and needs no gateway.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>

#include "kv_curve.h"
#include "kv_valid.h"

#define EXIT_SERVER 1
#define EXIT_USAGE  2

static const char s_usage[] =
    "usage: kaivoxctl <command> [options]\n"
    "\n"
    "  tenant create --name NAME [--timezone IANA_TZ] [--slot-interval MINUTES]\n"
    "  tenant list\n"
    "  tenant show --id TENANT_ID\n"
    "  key create --tenant ID --name NAME [--scope full|read]\n"
    "                                            prints the key: the only time it is shown;\n"
    "                                            read: GET only, 403 on every write (default full)\n"
    "  key list --tenant ID                      no secrets; shows each key's scope; \"legacy\":\n"
    "                                            true marks a key with the old public checksum:\n"
    "                                            replace and revoke it\n"
    "  key revoke --tenant ID --id KEY_ID\n"
    "  service create --tenant ID --name NAME --duration MINUTES --price DECIMAL [--inactive]\n"
    "                 [--buffer-before MINUTES] [--buffer-after MINUTES]\n"
    "                 [--min-notice MINUTES] [--max-advance DAYS]\n"
    "  service update --tenant ID --id SERVICE_ID [--name NAME] [--duration MINUTES]\n"
    "                 [--price DECIMAL] [--active true|false] [--buffer-before MINUTES]\n"
    "                 [--buffer-after MINUTES] [--min-notice MINUTES] [--max-advance DAYS]\n"
    "  staff create --tenant ID --name NAME [--specialties a,b] [--services ID,ID]\n"
    "               [--hours DAYS=HH:MM-HH:MM]... [--inactive]\n"
    "  staff update --tenant ID --id STAFF_ID [--name NAME] [--specialties a,b]\n"
    "               [--services ID,ID] [--hours DAYS=HH:MM-HH:MM]... [--active true|false]\n"
    "  user create --tenant ID --email EMAIL [--name NAME]\n"
    "                                            a console user; prints its one-time\n"
    "                                            set-password link (valid 24 h)\n"
    "  user list --tenant ID\n"
    "  user disable --tenant ID --id USER_ID     its sessions end at once\n"
    "  user password-link --tenant ID --id USER_ID\n"
    "                                            a new set-password link (the older ones die)\n"
    "\n"
    "  DAYS is mon..sun, a range like mon-fri, or a comma list (mon,wed,fri-sun).\n"
    "  Several --hours for the same day add intervals (a lunch break):\n"
    "    --hours mon-fri=09:00-12:30 --hours mon-fri=13:30-17:30\n"
    "  With --hours, the whole week is replaced; days not given are days off.\n"
    "  --services with an empty list (--services '') means: performs every service.\n"
    "\n"
    "  keygen --dir DIR [--role ROLE]...        the bus's CURVE keypairs (DIR/ROLE.key, mode\n"
    "                                            0600, and DIR/ROLE.pub); by default for the\n"
    "                                            gateway, scheduling, crm, calls and webhooks;\n"
    "                                            existing keys are kept.  Works offline.\n"
    "\n"
    "Prints one JSON value on stdout and exits 0; on error prints a message on\n"
    "stderr and exits 1 (server or connection error) or 2 (usage error).\n"
    "Environment: KAIVOX_ADMIN_URL (default http://127.0.0.1:8081),\n"
    "KAIVOX_ADMIN_TOKEN (default: contents of var/admin.token).\n";

__attribute__((format(printf, 1, 2), noreturn))
static void s_usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "kaivoxctl: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'kaivoxctl --help'.\n");
    exit(EXIT_USAGE);
}

/* ---- options -------------------------------------------------------- */

#define MAX_HOURS 64

typedef struct {
    const char *name, *timezone, *slot_interval, *tenant, *id, *duration, *price;
    const char *active, *specialties, *services, *email, *scope;
    const char *buffer_before, *buffer_after, *min_notice, *max_advance;
    const char *hours[MAX_HOURS];
    int nhours;
    int inactive;
} opts_t;

/* Parses argv[from..] into o; every option but --inactive takes a value,
 * as "--opt value" or "--opt=value".  allowed is a space separated list. */
static void s_parse_opts(int argc, char **argv, int from, const char *allowed, opts_t *o)
{
    memset(o, 0, sizeof *o);
    for (int i = from; i < argc; i++) {
        char name[64];
        const char *arg = argv[i], *val = NULL;
        if (strncmp(arg, "--", 2) != 0)
            s_usage_error("unexpected argument '%s'", arg);
        const char *eq = strchr(arg, '=');
        size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (n == 0 || n >= sizeof name)
            s_usage_error("unknown option '%s'", arg);
        memcpy(name, arg + 2, n);
        name[n] = '\0';
        char pat[80];
        snprintf(pat, sizeof pat, " %s ", name);
        char all[512];
        snprintf(all, sizeof all, " %s ", allowed);
        if (!strstr(all, pat))
            s_usage_error("option '--%s' is not valid here", name);
        if (strcmp(name, "inactive") == 0) {
            if (eq)
                s_usage_error("--inactive takes no value");
            o->inactive = 1;
            continue;
        }
        if (eq) {
            val = eq + 1;
        } else {
            if (i + 1 >= argc)
                s_usage_error("option '--%s' needs a value", name);
            val = argv[++i];
        }
        if (strcmp(name, "name") == 0) o->name = val;
        else if (strcmp(name, "timezone") == 0) o->timezone = val;
        else if (strcmp(name, "slot-interval") == 0) o->slot_interval = val;
        else if (strcmp(name, "tenant") == 0) o->tenant = val;
        else if (strcmp(name, "id") == 0) o->id = val;
        else if (strcmp(name, "scope") == 0) o->scope = val;
        else if (strcmp(name, "duration") == 0) o->duration = val;
        else if (strcmp(name, "price") == 0) o->price = val;
        else if (strcmp(name, "active") == 0) o->active = val;
        else if (strcmp(name, "specialties") == 0) o->specialties = val;
        else if (strcmp(name, "services") == 0) o->services = val;
        else if (strcmp(name, "buffer-before") == 0) o->buffer_before = val;
        else if (strcmp(name, "buffer-after") == 0) o->buffer_after = val;
        else if (strcmp(name, "min-notice") == 0) o->min_notice = val;
        else if (strcmp(name, "max-advance") == 0) o->max_advance = val;
        else if (strcmp(name, "email") == 0) o->email = val;
        else if (strcmp(name, "hours") == 0) {
            if (o->nhours >= MAX_HOURS)
                s_usage_error("too many --hours");
            o->hours[o->nhours++] = val;
        }
    }
}

/* A positive id (digits only, what the server routes). */
static const char *s_need_id(const char *v, const char *opt)
{
    int64_t n;
    if (!v)
        s_usage_error("--%s is required", opt);
    if (strspn(v, "0123456789") != strlen(v) || kv_parse_i64(v, &n) != 0 || n <= 0)
        s_usage_error("--%s must be a positive integer, got '%s'", opt, v);
    return v;
}

static json_int_t s_need_int(const char *v, const char *opt, int64_t min, int64_t max)
{
    int64_t n;
    if (kv_parse_i64(v, &n) != 0 || n < min || n > max)
        s_usage_error("--%s must be an integer between %lld and %lld, got '%s'", opt,
                      (long long)min, (long long)max, v);
    return (json_int_t)n;
}

static int s_need_bool(const char *v, const char *opt)
{
    if (strcmp(v, "true") == 0)
        return 1;
    if (strcmp(v, "false") == 0)
        return 0;
    s_usage_error("--%s must be true or false, got '%s'", opt, v);
}

static void s_need_price(const char *v)
{
    int64_t cents;
    if (kv_parse_money(v, &cents) != 0)
        s_usage_error("--price must be a decimal amount like 25.50, got '%s'", v);
}

/* "a,b,c" -> ["a","b","c"] (empty items skipped). */
static json_t *s_list_strings(const char *v)
{
    json_t *a = json_array();
    const char *p = v;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0) {
            json_t *s = json_stringn(p, n);
            if (!s)
                s_usage_error("--specialties must be UTF-8 text");
            json_array_append_new(a, s);
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return a;
}

/* "1,2" -> [1,2]. */
static json_t *s_list_ids(const char *v)
{
    json_t *a = json_array();
    const char *p = v;
    while (*p) {
        char buf[32];
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof buf)
            s_usage_error("--services must be a comma separated list of ids, got '%s'", v);
        memcpy(buf, p, n);
        buf[n] = '\0';
        json_array_append_new(a, json_integer(s_need_int(buf, "services", 1, INT64_MAX)));
        p += n;
        if (*p == ',')
            p++;
    }
    return a;
}

static const char *const s_days[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static int s_day(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++)
        if (n == 3 && strncmp(s, s_days[i], 3) == 0)
            return i;
    return -1;
}

/* Builds {"mon":[["09:00","12:30"],...],...,"sun":[]} from --hours. */
static json_t *s_hours(const opts_t *o)
{
    json_t *week = json_object();
    for (int d = 0; d < 7; d++)
        json_object_set_new(week, s_days[d], json_array());
    for (int i = 0; i < o->nhours; i++) {
        const char *h = o->hours[i];
        const char *eq = strchr(h, '=');
        if (!eq)
            s_usage_error("--hours must look like DAYS=HH:MM-HH:MM, got '%s'", h);
        char from[6], to[6];
        int a, b;
        const char *t = eq + 1;
        if (strlen(t) != 11 || t[5] != '-')
            s_usage_error("--hours time must be HH:MM-HH:MM, got '%s'", t);
        memcpy(from, t, 5);
        from[5] = '\0';
        memcpy(to, t + 6, 5);
        to[5] = '\0';
        if (kv_parse_time(from, &a) != 0 || kv_parse_time(to, &b) != 0 || a >= b)
            s_usage_error("--hours interval '%s' is not a valid HH:MM-HH:MM range", t);
        int days[7] = { 0 };
        const char *p = h;
        while (p < eq) {
            size_t n = strcspn(p, ",=");
            const char *dash = memchr(p, '-', n);
            int d1, d2;
            if (dash) {
                d1 = s_day(p, (size_t)(dash - p));
                d2 = s_day(dash + 1, n - (size_t)(dash - p) - 1);
            } else {
                d1 = d2 = s_day(p, n);
            }
            if (d1 < 0 || d2 < 0 || d2 < d1)
                s_usage_error("--hours days must be mon..sun or a range like mon-fri, got '%.*s'",
                              (int)(eq - h), h);
            for (int d = d1; d <= d2; d++)
                days[d] = 1;
            p += n;
            if (*p == ',')
                p++;
        }
        for (int d = 0; d < 7; d++) {
            if (days[d])
                json_array_append_new(json_object_get(week, s_days[d]),
                                      json_pack("[s,s]", from, to));
        }
    }
    return week;
}

/* ---- HTTP ----------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
} buf_t;

static size_t s_write(char *p, size_t size, size_t n, void *arg)
{
    buf_t *b = arg;
    size_t add = size * n;
    char *q = realloc(b->data, b->len + add + 1);
    if (!q)
        return 0;
    b->data = q;
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* Reads and trims the token file at path into buf; 0 or -1. */
static int s_read_token(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                     buf[n - 1] == '\t'))
        buf[--n] = '\0';
    size_t lead = strspn(buf, " \t\r\n");
    memmove(buf, buf + lead, n - lead + 1);
    return buf[0] ? 0 : -1;
}

static const char *s_token(void)
{
    static char tok[512];
    const char *env = getenv("KAIVOX_ADMIN_TOKEN");
    if (env && *env)
        return env;
    if (s_read_token("var/admin.token", tok, sizeof tok) == 0)
        return tok;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            char path[PATH_MAX + 32];
            *slash = '\0';
            snprintf(path, sizeof path, "%s/../var/admin.token", exe);
            if (s_read_token(path, tok, sizeof tok) == 0)
                return tok;
        }
    }
    fprintf(stderr, "kaivoxctl: no admin token: set KAIVOX_ADMIN_TOKEN or create var/admin.token\n");
    exit(EXIT_SERVER);
}

/* Calls the admin API, prints the result, and returns the exit code.
 * Takes ownership of body (may be NULL). */
static int s_call(const char *method, const char *path, json_t *body)
{
    const char *base = getenv("KAIVOX_ADMIN_URL");
    if (!base || !*base)
        base = "http://127.0.0.1:8081";
    const char *token = s_token();
    int rc = EXIT_SERVER;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    buf_t resp = { NULL, 0 };
    struct curl_slist *hdrs = NULL;
    char *auth = NULL, *url = NULL;
    json_t *j = NULL;

    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "kaivoxctl: cannot initialise libcurl\n");
        goto out;
    }
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    url = malloc(blen + strlen(path) + 1);
    auth = malloc(strlen(token) + 32);
    if (!url || !auth)
        goto out;
    memcpy(url, base, blen);
    strcpy(url + blen, path);
    sprintf(auth, "Authorization: Bearer %s", token);
    hdrs = curl_slist_append(hdrs, auth);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (text)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (text) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        fprintf(stderr, "kaivoxctl: cannot reach the admin API at %s: %s\n", url,
                curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    json_error_t err;
    j = resp.data ? json_loadb(resp.data, resp.len, 0, &err) : NULL;
    if (status >= 200 && status < 300 && json_is_object(j) &&
        json_is_true(json_object_get(j, "success"))) {
        json_t *data = json_object_get(j, "data");
        size_t flags = JSON_ENCODE_ANY | (isatty(STDOUT_FILENO) ? JSON_INDENT(2) : JSON_COMPACT);
        char *out = json_dumps(data ? data : json_null(), flags);
        if (out) {
            printf("%s\n", out);
            const char *link = json_string_value(json_object_get(data, "set_password_url"));
            if (link)
                fprintf(stderr, "Set-password link (valid 24 hours, works once): %s\n", link);
            free(out);
            rc = 0;
        }
        goto out;
    }
    const char *msg = json_string_value(json_object_get(j, "message"));
    fprintf(stderr, "kaivoxctl: %s (HTTP %ld)\n", msg ? msg : "unexpected answer from the admin API",
            status);
    json_t *errors = json_object_get(j, "errors");
    const char *field;
    json_t *list;
    json_object_foreach(errors, field, list) {
        size_t i;
        json_t *m;
        json_array_foreach(list, i, m)
            fprintf(stderr, "  %s: %s\n", field, json_string_value(m) ? json_string_value(m) : "?");
    }
out:
    json_decref(j);
    free(resp.data);
    free(text);
    free(auth);
    free(url);
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}

/* ---- commands ------------------------------------------------------- */

static int s_tenant(const char *act, int argc, char **argv)
{
    opts_t o;
    if (strcmp(act, "create") == 0) {
        s_parse_opts(argc, argv, 3, "name timezone slot-interval", &o);
        if (!o.name)
            s_usage_error("--name is required");
        json_t *b = json_pack("{s:s}", "name", o.name);
        if (!b)
            s_usage_error("--name must be UTF-8 text");
        if (o.timezone)
            json_object_set_new(b, "timezone", json_string(o.timezone));
        if (o.slot_interval)
            json_object_set_new(b, "slot_interval",
                                json_integer(s_need_int(o.slot_interval, "slot-interval", 5, 120)));
        return s_call("POST", "/admin/v1/tenants", b);
    }
    if (strcmp(act, "list") == 0) {
        s_parse_opts(argc, argv, 3, "", &o);
        return s_call("GET", "/admin/v1/tenants", NULL);
    }
    if (strcmp(act, "show") == 0) {
        char path[96];
        s_parse_opts(argc, argv, 3, "id", &o);
        snprintf(path, sizeof path, "/admin/v1/tenants/%s", s_need_id(o.id, "id"));
        return s_call("GET", path, NULL);
    }
    s_usage_error("unknown command 'tenant %s'", act);
}

static int s_key(const char *act, int argc, char **argv)
{
    opts_t o;
    char path[128];
    if (strcmp(act, "create") == 0) {
        s_parse_opts(argc, argv, 3, "tenant name scope", &o);
        snprintf(path, sizeof path, "/admin/v1/tenants/%s/keys", s_need_id(o.tenant, "tenant"));
        if (!o.name)
            s_usage_error("--name is required");
        if (o.scope && strcmp(o.scope, "full") != 0 && strcmp(o.scope, "read") != 0)
            s_usage_error("--scope must be full or read");
        json_t *b = json_pack("{s:s, s:s}", "name", o.name, "scope", o.scope ? o.scope : "full");
        if (!b)
            s_usage_error("--name must be UTF-8 text");
        return s_call("POST", path, b);
    }
    if (strcmp(act, "list") == 0) {
        s_parse_opts(argc, argv, 3, "tenant", &o);
        snprintf(path, sizeof path, "/admin/v1/tenants/%s/keys", s_need_id(o.tenant, "tenant"));
        return s_call("GET", path, NULL);
    }
    if (strcmp(act, "revoke") == 0) {
        s_parse_opts(argc, argv, 3, "tenant id", &o);
        const char *t = s_need_id(o.tenant, "tenant");
        snprintf(path, sizeof path, "/admin/v1/tenants/%s/keys/%s/revoke", t, s_need_id(o.id, "id"));
        return s_call("POST", path, NULL);
    }
    s_usage_error("unknown command 'key %s'", act);
}


/* Writes into path the admin path of a create (collection coll of tenant
 * t) or an update (its member --id) and starts the body they share:
 * "active" (from --inactive on create, from --active when given on update)
 * and "name" when given.  Exits on a bad option.  Caller owns the result. */
static json_t *s_write_body(int create, const opts_t *o, const char *t, const char *coll,
                            char *path, size_t size)
{
    json_t *b = json_object();
    if (create) {
        snprintf(path, size, "/admin/v1/tenants/%s/%s", t, coll);
        json_object_set_new(b, "active", json_boolean(!o->inactive));
    } else {
        snprintf(path, size, "/admin/v1/tenants/%s/%s/%s", t, coll, s_need_id(o->id, "id"));
        if (o->active)
            json_object_set_new(b, "active", json_boolean(s_need_bool(o->active, "active")));
    }
    if (o->name) {
        json_t *s = json_string(o->name);
        if (!s)
            s_usage_error("--name must be UTF-8 text");
        json_object_set_new(b, "name", s);
    }
    return b;
}

static int s_user(const char *act, int argc, char **argv)
{
    opts_t o;
    char path[160];
    if (strcmp(act, "create") == 0) {
        s_parse_opts(argc, argv, 3, "tenant email name", &o);
        snprintf(path, sizeof path, "/admin/v1/tenants/%s/users", s_need_id(o.tenant, "tenant"));
        if (!o.email)
            s_usage_error("--email is required");
        json_t *b = json_pack("{s:s}", "email", o.email);
        if (!b)
            s_usage_error("--email must be UTF-8 text");
        if (o.name) {
            json_t *n = json_string(o.name);
            if (!n)
                s_usage_error("--name must be UTF-8 text");
            json_object_set_new(b, "name", n);
        }
        return s_call("POST", path, b);
    }
    if (strcmp(act, "list") == 0) {
        s_parse_opts(argc, argv, 3, "tenant", &o);
        snprintf(path, sizeof path, "/admin/v1/tenants/%s/users", s_need_id(o.tenant, "tenant"));
        return s_call("GET", path, NULL);
    }
    if (strcmp(act, "disable") == 0 || strcmp(act, "password-link") == 0) {
        s_parse_opts(argc, argv, 3, "tenant id", &o);
        const char *t = s_need_id(o.tenant, "tenant");
        snprintf(path, sizeof path, "/admin/v1/tenants/%s/users/%s/%s", t, s_need_id(o.id, "id"),
                 act);
        return s_call("POST", path, NULL);
    }
    s_usage_error("unknown command 'user %s'", act);
}

/* The booking-rule options of service create / update. */
#define SERVICE_RULE_OPTS "buffer-before buffer-after min-notice max-advance"

static int s_service(const char *act, int argc, char **argv)
{
    opts_t o;
    char path[128];
    int create = strcmp(act, "create") == 0;
    if (!create && strcmp(act, "update") != 0)
        s_usage_error("unknown command 'service %s'", act);
    s_parse_opts(argc, argv, 3,
                 create ? "tenant name duration price inactive " SERVICE_RULE_OPTS
                        : "tenant id name duration price active " SERVICE_RULE_OPTS, &o);
    const char *t = s_need_id(o.tenant, "tenant");
    if (create && (!o.name || !o.duration || !o.price))
        s_usage_error("service create needs --name, --duration and --price");
    json_t *b = s_write_body(create, &o, t, "services", path, sizeof path);
    if (o.duration)
        json_object_set_new(b, "duration", json_integer(s_need_int(o.duration, "duration", 1, 1440)));
    if (o.price) {
        s_need_price(o.price);
        json_object_set_new(b, "price", json_string(o.price));
    }
    /* the booking rules, in the ranges the server takes */
    const struct { const char *val, *opt, *field; int max; } rules[] = {
        { o.buffer_before, "buffer-before", "buffer_before_minutes", KV_SERVICE_BUFFER_MAX },
        { o.buffer_after, "buffer-after", "buffer_after_minutes", KV_SERVICE_BUFFER_MAX },
        { o.min_notice, "min-notice", "min_notice_minutes", KV_SERVICE_NOTICE_MAX },
        { o.max_advance, "max-advance", "max_advance_days", KV_SERVICE_ADVANCE_MAX },
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].val)
            json_object_set_new(b, rules[i].field,
                                json_integer(s_need_int(rules[i].val, rules[i].opt, 0,
                                                        rules[i].max)));
    if (!create && json_object_size(b) == 0)
        s_usage_error("service update needs at least one field to change");
    return s_call(create ? "POST" : "PATCH", path, b);
}

static int s_staff(const char *act, int argc, char **argv)
{
    opts_t o;
    char path[128];
    int create = strcmp(act, "create") == 0;
    if (!create && strcmp(act, "update") != 0)
        s_usage_error("unknown command 'staff %s'", act);
    s_parse_opts(argc, argv, 3, create ? "tenant name specialties services hours inactive"
                                       : "tenant id name specialties services hours active", &o);
    const char *t = s_need_id(o.tenant, "tenant");
    if (create && !o.name)
        s_usage_error("--name is required");
    json_t *b = s_write_body(create, &o, t, "staff", path, sizeof path);
    if (o.specialties) {
        json_object_set_new(b, "specialties", s_list_strings(o.specialties));
    }
    if (o.services)
        json_object_set_new(b, "services", s_list_ids(o.services));
    if (o.nhours > 0 || create)
        json_object_set_new(b, "hours", s_hours(&o));
    if (!create && json_object_size(b) == 0)
        s_usage_error("staff update needs at least one field to change");
    return s_call(create ? "POST" : "PATCH", path, b);
}

/* keygen --dir DIR [--role ROLE]...: makes the bus's keypairs that are
 * missing (kv_curve_keygen); prints {"dir","created":[...],"kept":[...]}. */
static int s_keygen(int argc, char **argv)
{
    static const char *const defaults[] = { "gateway", "scheduling", "crm", "calls", "webhooks" };
    const char *dir = NULL;
    const char *roles[KV_CURVE_ROLES_MAX];
    int nroles = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int is_dir = strncmp(a, "--dir", 5) == 0 && (a[5] == '\0' || a[5] == '=');
        int is_role = strncmp(a, "--role", 6) == 0 && (a[6] == '\0' || a[6] == '=');
        if (!is_dir && !is_role)
            s_usage_error("keygen takes --dir DIR and --role ROLE, not '%s'", a);
        const char *eq = strchr(a, '=');
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else
            s_usage_error("%s needs a value", a);
        if (is_dir) {
            dir = v;
        } else {
            if (nroles == KV_CURVE_ROLES_MAX)
                s_usage_error("at most %d roles", KV_CURVE_ROLES_MAX);
            roles[nroles++] = v;
        }
    }
    if (!dir || !*dir)
        s_usage_error("keygen needs --dir DIR");
    if (nroles == 0) {
        for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
            roles[nroles++] = defaults[i];
    }
    json_t *created = json_array(), *kept = json_array();
    int rc = 0;
    for (int i = 0; i < nroles; i++) {
        char err[1200];
        int made = 0;
        if (kv_curve_keygen(dir, roles[i], &made, err, sizeof err) != 0) {
            fprintf(stderr, "kaivoxctl: keygen %s: %s\n", roles[i], err);
            rc = EXIT_SERVER;
            break;
        }
        json_array_append_new(made ? created : kept, json_string(roles[i]));
    }
    if (rc == 0) {
        json_t *o = json_pack("{s:s,s:o,s:o}", "dir", dir, "created", created, "kept", kept);
        char *t = json_dumps(o, JSON_COMPACT);
        printf("%s\n", t);
        free(t);
        json_decref(o);
    } else {
        json_decref(created);
        json_decref(kept);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "keygen") == 0) {
        for (int i = 2; i < argc; i++)
            if (strcmp(argv[i], "--help") == 0) {
                fputs(s_usage, stdout);
                return 0;
            }
        return s_keygen(argc, argv);
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        fputs(s_usage, stdout);
        return 0;
    }
    if (argc < 3) {
        fputs(s_usage, stderr);
        return EXIT_USAGE;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(s_usage, stdout);
            return 0;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;
    if (strcmp(argv[1], "tenant") == 0)
        rc = s_tenant(argv[2], argc, argv);
    else if (strcmp(argv[1], "key") == 0)
        rc = s_key(argv[2], argc, argv);
    else if (strcmp(argv[1], "service") == 0)
        rc = s_service(argv[2], argc, argv);
    else if (strcmp(argv[1], "user") == 0)
        rc = s_user(argc >= 3 ? argv[2] : "", argc, argv);
    else if (strcmp(argv[1], "staff") == 0)
        rc = s_staff(argv[2], argc, argv);
    else
        s_usage_error("unknown command '%s'", argv[1]);
    curl_global_cleanup();
    return rc;
}
