/*
 * test_scopes.c -- read-only API keys: a key made with scope "read" (admin
 * API, `kaivoxctl key create --scope read`) calls every GET (and HEAD)
 * route and gets 403 "This API key is read-only..." on every write route,
 * which changes nothing; a route that does not exist is still 404 and a
 * method a path does not have 405; keys are "full" by default, and key list
 * shows each key's scope.  The routes come from `kaivox-gateway
 * --print-routes`, so a route added later is covered too.
 */
#include <sys/wait.h>

#include "idem_e2e.h"

#define S_READ_ONLY "This API key is read-only: it may only make GET requests."

/* Runs kaivoxctl with args; its exit status, stdout parsed into *out (may
 * be NULL: the caller decrefs). */
static int s_ctl(const char *args, json_t **out)
{
    char bin[1024], cmd[2048], raw[8192];
    const char *dir = kvt_env("KAIVOX_BIN_DIR", NULL);
    if (dir)
        snprintf(bin, sizeof bin, "%s/kaivoxctl", dir);
    else
        snprintf(bin, sizeof bin, "%s/bin/kaivoxctl", kvt_env("KVT_ROOT", "."));
    snprintf(cmd, sizeof cmd, "env KAIVOX_ADMIN_URL='%s' KAIVOX_ADMIN_TOKEN='%s' '%s' %s 2>/dev/null",
             kvt_env("KVT_ADMIN_URL", ""), kvt_env("KVT_ADMIN_TOKEN", ""), bin, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(raw, 1, sizeof raw - 1, p);
    raw[n] = '\0';
    int st = pclose(p);
    if (out)
        *out = json_loads(raw, JSON_DECODE_ANY, NULL);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The scope of key id in the tenant's key list, "" when not found. */
static const char *s_listed_scope(json_t *list, long long id)
{
    size_t i;
    json_t *k;
    json_array_foreach(list, i, k) {
        if (json_integer_value(json_object_get(k, "id")) == id) {
            const char *s = json_string_value(json_object_get(k, "scope"));
            return s ? s : "";
        }
    }
    return "";
}

static void test_making_keys(const idem_fixture_t *f, char ro_key[64])
{
    char path[128], args[256];
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/keys", (long long)f->tenant);
    kvt_resp_t a = kvt_admin("POST", path, "{\"name\":\"dashboard\",\"scope\":\"read\"}");
    KVT_EQ_INT(a.status, 201, "the admin API makes a read-only key");
    KVT_EQ_STR(se_str(&a, "scope"), "read", "its answer shows scope read");
    snprintf(ro_key, 64, "%s", se_str(&a, "key") ? se_str(&a, "key") : "");
    long long ro_id = se_int(&a, "id");
    kvt_resp_t b = kvt_admin("POST", path, "{\"name\":\"bad\",\"scope\":\"admin\"}");
    KVT_EQ_INT(b.status, 422, "an unknown scope answers 422");
    KVT_OK(json_array_get(json_object_get(json_object_get(b.json, "errors"), "scope"), 0) != NULL,
           "with errors.scope");
    kvt_resp_t c = kvt_admin("POST", path, "{\"name\":\"plain\"}");
    KVT_EQ_STR(se_str(&c, "scope"), "full", "a key made without a scope is full");

    json_t *out = NULL;
    snprintf(args, sizeof args, "key create --tenant %lld --name 'Reporting' --scope read",
             (long long)f->tenant);
    KVT_EQ_INT(s_ctl(args, &out), 0, "kaivoxctl key create --scope read succeeds");
    KVT_EQ_STR(json_string_value(json_object_get(out, "scope")), "read", "and prints scope read");
    long long cli_id = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    snprintf(args, sizeof args, "key create --tenant %lld --name x --scope write",
             (long long)f->tenant);
    KVT_EQ_INT(s_ctl(args, NULL), 2, "kaivoxctl key create --scope write is a usage error (2)");

    snprintf(args, sizeof args, "key list --tenant %lld", (long long)f->tenant);
    KVT_EQ_INT(s_ctl(args, &out), 0, "kaivoxctl key list succeeds");
    KVT_EQ_STR(s_listed_scope(out, ro_id), "read", "key list shows the read-only key's scope");
    KVT_EQ_STR(s_listed_scope(out, cli_id), "read", "and the one kaivoxctl made");
    KVT_EQ_STR(s_listed_scope(out, se_int(&c, "id")), "full", "and full for a full key");
    json_decref(out);
    kvt_resp_free(&a); kvt_resp_free(&b); kvt_resp_free(&c);
}

static void test_routes(const idem_fixture_t *f, const char *ro_key, long long appt)
{
    idem_route_t routes[IDEM_MAX_ROUTES];
    int nr = idem_routes(routes);
    KVT_OK(nr >= 24, "kaivox-gateway --print-routes lists the routes (%d)", nr);
    int reads = 0, writes = 0, reads_ok = 0, writes_refused = 0;
    for (int i = 0; i < nr; i++) {
        char path[256];
        if (strcmp(routes[i].op, "local") == 0)
            continue;   /* the gateway's own routes take console sessions only */
        /* ids that exist where a resource is named: the customer, the
         * appointment, the service, the staff member; others 404 */
        long long id = strstr(routes[i].pattern, "appointments/") ? appt
                     : strstr(routes[i].pattern, "customers/") ? f->customer
                     : strstr(routes[i].pattern, "services/") ? f->service
                     : strstr(routes[i].pattern, "staff/") ? f->staff : 999999;
        idem_path(routes[i].pattern, id, path, sizeof path);
        if (strstr(path, "/slots")) {
            char q[128];
            snprintf(q, sizeof q, "?date=%s&service_id=%lld", f->date, f->service);
            strncat(path, q, sizeof path - strlen(path) - 1);
        }
        if (strstr(path, "/calls/stats")) {
            char q[128];
            snprintf(q, sizeof q, "?from_date=%s&to_date=%s", f->date, f->date);
            strncat(path, q, sizeof path - strlen(path) - 1);
        }
        if (strcmp(routes[i].method, "GET") == 0) {
            reads++;
            kvt_resp_t r = idem_req(ro_key, "GET", path, NULL, NULL, NULL);
            kvt_resp_t h = idem_req(ro_key, "HEAD", path, NULL, NULL, NULL);
            int ok = (r.status == 200 || r.status == 404) && h.status == r.status;
            KVT_OK(ok, "read-only key: GET and HEAD %s answer %ld / %ld (not 403)", path,
                   r.status, h.status);
            reads_ok += ok;
            kvt_resp_free(&r);
            kvt_resp_free(&h);
            continue;
        }
        writes++;
        const char *body = strcmp(routes[i].method, "DELETE") == 0 ? NULL : "{}";
        kvt_resp_t r = idem_req(ro_key, routes[i].method, path, body, NULL, NULL);
        int ok = r.status == 403 && gw_is_error(&r, S_READ_ONLY) && gw_has_hdr(&r, "X-RateLimit-Limit");
        KVT_OK(ok, "read-only key: %s %s answers 403 read-only (%ld)", routes[i].method, path,
               r.status);
        writes_refused += ok;
        kvt_resp_free(&r);
    }
    KVT_OK(reads >= 14 && reads_ok == reads, "every GET route serves the read-only key (%d of %d)",
           reads_ok, reads);
    KVT_OK(writes >= 11 && writes_refused == writes,
           "every write route refuses it with 403 (%d of %d)", writes_refused, writes);
}

static void test_order_and_effect(const idem_fixture_t *f, const char *ro_key, long long appt)
{
    char phone[32], body[256], path[128];
    snprintf(body, sizeof body, "{\"name\":\"Read Only\",\"phone\":\"%s\"}", idem_phone(phone));
    kvt_resp_t a = idem_req(ro_key, "POST", "/api/v1/customers", body, NULL, NULL);
    KVT_EQ_INT(a.status, 403, "a read-only key cannot create a customer");
    snprintf(path, sizeof path, "/api/v1/customers?search=%s", phone + 1);
    kvt_resp_t l = kvt_api(f->key, "GET", path, NULL);
    KVT_EQ_INT(se_meta(&l, "total"), 0, "nothing was created");
    snprintf(path, sizeof path, "/api/v1/appointments/%lld", appt);
    kvt_resp_t d = idem_req(ro_key, "DELETE", path, NULL, NULL, NULL);
    KVT_EQ_INT(d.status, 403, "a read-only key cannot cancel");
    kvt_resp_t g = kvt_api(f->key, "GET", path, NULL);
    KVT_EQ_STR(se_str(&g, "status"), "scheduled", "the appointment is still scheduled");
    kvt_resp_t w = kvt_api(f->key, "POST", "/api/v1/customers", body);
    KVT_EQ_INT(w.status, 201, "the tenant's full key still writes");

    kvt_resp_t n = idem_req(ro_key, "POST", "/api/v1/nothing-here", "{}", NULL, NULL);
    KVT_EQ_INT(n.status, 404, "a route that does not exist is 404 for a read-only key, not 403");
    kvt_resp_t m = idem_req(ro_key, "PUT", "/api/v1/customers", "{}", NULL, NULL);
    KVT_EQ_INT(m.status, 405, "a method the path does not have is 405, not 403");
    kvt_resp_t k = idem_req(ro_key, "POST", "/api/v1/customers", body, NULL, "Idempotency-Key;");
    KVT_EQ_INT(k.status, 403, "403 comes before the Idempotency-Key check");
    kvt_resp_t t = idem_req(ro_key, "POST", "/api/v1/customers", "x", NULL,
                            "Content-Type: text/plain");
    KVT_EQ_INT(t.status, 403, "and before the body is looked at (415)");
    kvt_resp_free(&a); kvt_resp_free(&l); kvt_resp_free(&d); kvt_resp_free(&g);
    kvt_resp_free(&w); kvt_resp_free(&n); kvt_resp_free(&m); kvt_resp_free(&k);
    kvt_resp_free(&t);
}

int main(void)
{
    idem_fixture_t f;
    if (idem_fixture("scopes", &f) != 0) {
        KVT_OK(0, "the test tenant is set up");
        return kvt_done();
    }
    char body[512], ro_key[64];
    kvt_resp_t b = kvt_api(f.key, "POST", "/api/v1/appointments",
                           idem_booking(&f, "09:00", body, sizeof body));
    long long appt = se_int(&b, "id");
    KVT_EQ_INT(b.status, 201, "an appointment to read and not cancel");
    kvt_resp_free(&b);
    test_making_keys(&f, ro_key);
    test_routes(&f, ro_key, appt);
    test_order_and_effect(&f, ro_key, appt);
    return kvt_done();
}
