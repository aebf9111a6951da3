/*
 * test_console_api.c -- the console's server side, end to end: users made
 * by the operator and their one-time set-password links; sign-in (one
 * message for every wrong credential), the session cookie's attributes,
 * sign-out; a session as the credential of the public API (the tenant
 * context of a key), with the origin and CSRF checks on every
 * state-changing request; the API key routes (sessions only: a key gets
 * 403; created keys work, deleted keys are 401 at once on this gateway); a
 * disabled user's session dies at once; tenants see nothing of each other.
 */
#include "console_e2e.h"
#include "sched_e2e.h"

#define PW "correct horse battery"

static int s_has(const kvt_resp_t *r, const char *name, const char *needle)
{
    char v[600];
    return kvt_header(r, name, v, sizeof v) == 0 && (!needle || strstr(v, needle));
}

static void t_users(long long ta, const char *email)
{
    char path[128], body[256], upper[128];
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/users", ta);
    for (size_t i = 0; email[i] && i < sizeof upper - 1; i++)
        upper[i] = (char)(email[i] >= 'a' && email[i] <= 'z' ? email[i] - 32 : email[i]);
    upper[strlen(email) < sizeof upper - 1 ? strlen(email) : sizeof upper - 1] = '\0';
    snprintf(body, sizeof body, "{\"email\":\"%s\"}", upper);
    kvt_resp_t r = kvt_admin("POST", path, body);
    KVT_EQ_INT(r.status, 422, "users: the same e-mail in capitals is taken (422)");
    KVT_OK(json_object_get(json_object_get(r.json, "errors"), "email"), "users: ... under errors.email");
    kvt_resp_free(&r);
    r = kvt_admin("POST", path, "{\"email\":\"not-an-address\"}");
    KVT_EQ_INT(r.status, 422, "users: an invalid e-mail is 422");
    kvt_resp_free(&r);
    r = kvt_admin("POST", path, "{\"email\":\"x@example.com\",\"role\":\"admin\"}");
    KVT_EQ_INT(r.status, 422, "users: an unknown field is 422");
    kvt_resp_free(&r);
    r = kvt_admin("POST", "/admin/v1/tenants/999999999/users", "{\"email\":\"y@example.com\"}");
    KVT_EQ_INT(r.status, 404, "users: an unknown tenant is 404");
    kvt_resp_free(&r);
    r = kvt_admin("GET", path, NULL);
    json_t *u = json_array_get(json_object_get(r.json, "data"), 0);
    KVT_EQ_INT(r.status, 200, "users: list 200");
    KVT_EQ_STR(json_string_value(json_object_get(u, "email")), email, "users: list shows the user, lower-cased");
    KVT_OK(json_is_true(json_object_get(u, "password_set")), "users: password_set true once set");
    KVT_OK(!json_object_get(u, "password_hash") && !strstr(r.body, "argon2"),
           "users: the list never shows a password hash");
    kvt_resp_free(&r);
}

static void t_password_links(long long ta)
{
    char path[128], body[256], email[128], token[64], old[64];
    cs_client_t c;
    cs_init(&c, NULL);
    cs_email("link", email);
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/users", ta);
    snprintf(body, sizeof body, "{\"email\":\"%s\"}", email);
    kvt_resp_t r = kvt_admin("POST", path, body);
    json_t *d = json_object_get(r.json, "data");
    const char *link = json_string_value(json_object_get(d, "set_password_url"));
    KVT_EQ_INT(r.status, 201, "link: user create 201");
    KVT_OK(link && strstr(link, "/console/set-password#token="), "link: a set-password link with the token in the fragment");
    KVT_OK(json_is_false(json_object_get(d, "password_set")), "link: a new user has no password");
    long long uid = json_integer_value(json_object_get(d, "id"));
    cs_link_token(link, old);
    kvt_resp_free(&r);

    /* a new link voids the old one */
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/users/%lld/password-link", ta, uid);
    r = kvt_admin("POST", path, NULL);
    KVT_EQ_INT(r.status, 201, "link: password-link 201");
    cs_link_token(json_string_value(json_object_get(json_object_get(r.json, "data"), "set_password_url")), token);
    kvt_resp_free(&r);
    KVT_OK(strcmp(token, old) != 0 && strlen(token) == 43, "link: a new token");

    cs_refresh(&c, NULL);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"%s\"}", old, PW);
    r = cs_req(&c, "POST", "/console/api/password", body);
    KVT_EQ_INT(r.status, 422, "link: the voided link is refused (422)");
    KVT_OK(json_object_get(json_object_get(r.json, "errors"), "token"), "link: ... under errors.token");
    kvt_resp_free(&r);

    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"short\"}", token);
    r = cs_req(&c, "POST", "/console/api/password", body);
    KVT_EQ_INT(r.status, 422, "link: a password under 10 characters is 422");
    KVT_OK(json_object_get(json_object_get(r.json, "errors"), "password"), "link: ... under errors.password");
    kvt_resp_free(&r);

    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"%s\"}", token, PW);
    r = cs_req_ex(&c, "POST", "/console/api/password", body, "", NULL, NULL);
    KVT_EQ_INT(r.status, 403, "link: without Origin (and no Referer) 403");
    kvt_resp_free(&r);
    r = cs_req_ex(&c, "POST", "/console/api/password", body, NULL, "", NULL);
    KVT_EQ_INT(r.status, 403, "link: without the CSRF token 403");
    kvt_resp_free(&r);
    r = cs_req(&c, "POST", "/console/api/password", body);
    KVT_EQ_INT(r.status, 200, "link: the password is set (200)");
    KVT_EQ_STR(json_string_value(json_object_get(json_object_get(r.json, "data"), "email")), email,
               "link: ... for that user");
    kvt_resp_free(&r);
    r = cs_req(&c, "POST", "/console/api/password", body);
    KVT_EQ_INT(r.status, 422, "link: a link works once");
    kvt_resp_free(&r);
    KVT_EQ_INT(cs_signin(&c, email, PW), 200, "link: the user signs in with the new password");
}

static void t_signin(const char *email, cs_client_t *a)
{
    cs_client_t c;
    cs_init(&c, NULL);
    kvt_resp_t r = cs_req(&c, "GET", "/console/api/session", NULL);
    json_t *d = json_object_get(r.json, "data");
    KVT_EQ_INT(r.status, 200, "signin: GET session without one is 200");
    KVT_OK(json_is_false(json_object_get(d, "signed_in")), "signin: ... signed_in false");
    KVT_EQ_INT(strlen(c.pre), 43, "signin: ... sets the pre-session kv_csrf cookie");
    KVT_EQ_STR(json_string_value(json_object_get(d, "csrf_token")), c.pre, "signin: ... whose value is the csrf_token");
    KVT_OK(s_has(&r, "Set-Cookie", "HttpOnly") && s_has(&r, "Set-Cookie", "SameSite=Strict"),
           "signin: kv_csrf is HttpOnly, SameSite=Strict");
    KVT_OK(!s_has(&r, "Set-Cookie", "Secure"), "signin: no Secure over plain HTTP from a client");
    KVT_OK(s_has(&r, "Cache-Control", "no-store"), "signin: console answers are not stored");
    KVT_OK(s_has(&r, "Content-Security-Policy", "default-src 'self'"), "signin: with the CSP");
    kvt_resp_free(&r);
    snprintf(c.csrf, sizeof c.csrf, "%s", c.pre);

    char body[512];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"wrong password!\"}", email);
    r = cs_req(&c, "POST", "/console/api/session", body);
    KVT_EQ_INT(r.status, 401, "signin: a wrong password is 401");
    KVT_OK(gw_is_error(&r, "The email or password is incorrect."), "signin: ... 'The email or password is incorrect.'");
    KVT_OK(!c.session[0], "signin: ... and no session cookie");
    kvt_resp_free(&r);
    r = cs_req(&c, "POST", "/console/api/session",
               "{\"email\":\"nobody-at-all@example.com\",\"password\":\"" PW "\"}");
    KVT_EQ_INT(r.status, 401, "signin: an unknown e-mail is 401");
    KVT_OK(gw_is_error(&r, "The email or password is incorrect."), "signin: ... with the very same message");
    kvt_resp_free(&r);
    r = cs_req(&c, "POST", "/console/api/session", "{\"email\":\"x@example.com\"}");
    KVT_EQ_INT(r.status, 422, "signin: a missing password is 422");
    kvt_resp_free(&r);
    r = cs_req_ex(&c, "POST", "/console/api/session", "{\"email\":\"a\",\"password\":\"b\"}",
                  "http://evil.example", NULL, NULL);
    KVT_EQ_INT(r.status, 403, "signin: from another origin 403");
    kvt_resp_free(&r);
    r = cs_req_ex(&c, "POST", "/console/api/session", "{\"email\":\"a\",\"password\":\"b\"}", NULL,
                  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL);
    KVT_EQ_INT(r.status, 403, "signin: with a CSRF token other than the cookie's 403");
    kvt_resp_free(&r);

    snprintf(body, sizeof body, "{\"email\":\"  %s\",\"password\":\"%s\"}", email, PW);
    /* the address is trimmed by the page, not here: must be exact but for case */
    char up[160];
    snprintf(up, sizeof up, "%s", email);
    up[0] = (char)(up[0] - 32);
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", up, PW);
    char attrs[512] = "";
    r = cs_req(&c, "POST", "/console/api/session", body);
    cs_cookies(&c, &r, attrs, sizeof attrs);
    d = json_object_get(r.json, "data");
    KVT_EQ_INT(r.status, 200, "signin: the right password signs in (e-mail case does not matter)");
    KVT_EQ_INT(strlen(c.session), 43, "signin: ... sets kv_session");
    KVT_OK(strstr(attrs, "HttpOnly") && strstr(attrs, "SameSite=Strict") && strstr(attrs, "Path=/") &&
           strstr(attrs, "Max-Age=604800"), "signin: kv_session is HttpOnly, SameSite=Strict, Path=/, 7 days");
    KVT_OK(json_is_true(json_object_get(d, "signed_in")), "signin: ... signed_in true");
    KVT_EQ_STR(json_string_value(json_object_get(json_object_get(d, "user"), "email")), email,
               "signin: ... with the user");
    KVT_OK(strcmp(json_string_value(json_object_get(d, "csrf_token")), c.pre) != 0,
           "signin: ... and a CSRF token of the session, not the pre-session one");
    kvt_resp_free(&r);
    *a = c;
    cs_refresh(a, NULL);
}

static void t_session_api(cs_client_t *a, const char *key_a, const char *key_b)
{
    kvt_resp_t r = cs_req(a, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "api: a session reads the public API");
    KVT_OK(s_has(&r, "X-RateLimit-Limit", NULL), "api: ... with the rate-limit headers");
    kvt_resp_free(&r);

    const char *cust = "{\"name\":\"Console Customer\",\"phone\":\"+15550001111\"}";
    r = cs_req_ex(a, "POST", "/api/v1/customers", cust, "", NULL, NULL);
    KVT_EQ_INT(r.status, 403, "csrf: a write without Origin or Referer is 403");
    kvt_resp_free(&r);
    r = cs_req_ex(a, "POST", "/api/v1/customers", cust, "http://evil.example", NULL, NULL);
    KVT_EQ_INT(r.status, 403, "csrf: a write from another origin is 403");
    KVT_OK(gw_is_error(&r, "Cross-site request refused."), "csrf: ... 'Cross-site request refused.'");
    kvt_resp_free(&r);
    char port_origin[80];
    snprintf(port_origin, sizeof port_origin, "%s0", a->base);   /* same host, another port */
    r = cs_req_ex(a, "POST", "/api/v1/customers", cust, port_origin, NULL, NULL);
    KVT_EQ_INT(r.status, 403, "csrf: a write from the same host on another port is 403");
    kvt_resp_free(&r);
    r = cs_req_ex(a, "POST", "/api/v1/customers", cust, NULL, "", NULL);
    KVT_EQ_INT(r.status, 403, "csrf: a write without the CSRF token is 403");
    kvt_resp_free(&r);
    r = cs_req_ex(a, "POST", "/api/v1/customers", cust, NULL, a->pre, NULL);
    KVT_EQ_INT(r.status, 403, "csrf: the pre-session token does not do for a session");
    kvt_resp_free(&r);
    char referer[160];
    snprintf(referer, sizeof referer, "Referer: %s/console/settings", a->base);
    r = cs_req_ex(a, "POST", "/api/v1/customers", cust, "", NULL, referer);
    KVT_EQ_INT(r.status, 201, "csrf: without Origin, the Referer's origin does (201)");
    long long cid = se_int(&r, "id");
    kvt_resp_free(&r);

    char path[96];
    snprintf(path, sizeof path, "/api/v1/customers/%lld", cid);
    r = kvt_api(key_a, "GET", path, NULL);
    KVT_EQ_INT(r.status, 200, "api: what the session wrote belongs to its tenant (A's key sees it)");
    kvt_resp_free(&r);
    r = kvt_api(key_b, "GET", path, NULL);
    KVT_EQ_INT(r.status, 404, "api: ... and not to another (B's key gets 404)");
    kvt_resp_free(&r);
}

static void t_keys(cs_client_t *a, cs_client_t *b, const char *key_a)
{
    kvt_resp_t r = kvt_api(key_a, "GET", "/api/v1/api-keys", NULL);
    KVT_EQ_INT(r.status, 403, "keys: an API key cannot list keys (403)");
    KVT_OK(gw_is_error(&r, "API keys cannot manage API keys: sign in to the console."), "keys: ... and says why");
    kvt_resp_free(&r);
    r = kvt_apif(key_a, "POST", "/api/v1/api-keys", "{\"name\":\"x\"}");
    KVT_EQ_INT(r.status, 403, "keys: an API key cannot create keys (403)");
    kvt_resp_free(&r);
    r = kvt_api(key_a, "DELETE", "/api/v1/api-keys/1", NULL);
    KVT_EQ_INT(r.status, 403, "keys: an API key cannot revoke keys (403)");
    kvt_resp_free(&r);
    r = kvt_api(NULL, "GET", "/api/v1/api-keys", NULL);
    KVT_EQ_INT(r.status, 401, "keys: no credentials 401");
    kvt_resp_free(&r);

    r = cs_req(a, "POST", "/api/v1/api-keys", "{\"name\":\"  Zapier  \"}");
    KVT_EQ_INT(r.status, 201, "keys: a session creates a key (201)");
    const char *key = se_str(&r, "key");
    char k[64] = "";
    snprintf(k, sizeof k, "%s", key ? key : "");
    long long kid = se_int(&r, "id");
    KVT_OK(strncmp(k, "kv1_", 4) == 0 && strlen(k) == 42, "keys: ... the whole key, shown here");
    KVT_EQ_STR(se_str(&r, "name"), "Zapier", "keys: ... its name trimmed");
    KVT_OK(strncmp(se_str(&r, "prefix") ? se_str(&r, "prefix") : "", k, 12) == 0, "keys: ... its prefix");
    KVT_EQ_STR(se_str(&r, "scope"), "full", "keys: ... full access when no scope is given");
    kvt_resp_free(&r);

    r = cs_req(a, "GET", "/api/v1/api-keys", NULL);
    KVT_EQ_INT(r.status, 200, "keys: list 200");
    KVT_OK(r.body && !strstr(r.body, k) && strstr(r.body, "Zapier"),
           "keys: the list names it, and never shows the key again");
    KVT_OK(json_object_get(r.json, "meta") != NULL, "keys: the list is paginated (meta)");
    kvt_resp_free(&r);
    r = cs_req(b, "GET", "/api/v1/api-keys", NULL);
    KVT_OK(r.status == 200 && r.body && !strstr(r.body, "Zapier"), "keys: another tenant's list does not show it");
    kvt_resp_free(&r);

    r = kvt_api(k, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "keys: the new key works against the API");
    kvt_resp_free(&r);

    r = cs_req(a, "POST", "/api/v1/api-keys", "{}");
    KVT_EQ_INT(r.status, 422, "keys: a key without a name is 422");
    kvt_resp_free(&r);
    r = cs_req(a, "POST", "/api/v1/api-keys", "{\"name\":\"x\",\"expires\":\"never\"}");
    KVT_EQ_INT(r.status, 422, "keys: an unknown field is 422");
    kvt_resp_free(&r);
    r = cs_req(a, "POST", "/api/v1/api-keys", "{\"name\":\"x\",\"scope\":\"all\"}");
    KVT_EQ_INT(r.status, 422, "keys: an unknown scope is 422");
    KVT_EQ_STR(json_string_value(json_array_get(json_object_get(json_object_get(r.json, "errors"),
                                                                "scope"), 0)),
               "The selected scope is invalid: use one of full, read.", "keys: ... errors.scope says which");
    kvt_resp_free(&r);
    r = cs_req(a, "POST", "/api/v1/api-keys", "{\"name\":\"x\",\"scope\":1}");
    KVT_EQ_INT(r.status, 422, "keys: a scope that is not a string is 422");
    kvt_resp_free(&r);
    r = cs_req(a, "GET", "/api/v1/api-keys?per_page=0", NULL);
    KVT_EQ_INT(r.status, 422, "keys: a bad per_page is 422");
    kvt_resp_free(&r);

    char path[96];
    snprintf(path, sizeof path, "/api/v1/api-keys/%lld", kid);
    r = cs_req(b, "DELETE", path, NULL);
    KVT_EQ_INT(r.status, 404, "keys: another tenant's session cannot delete it (404)");
    kvt_resp_free(&r);
    r = kvt_api(k, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "keys: ... it still works");
    kvt_resp_free(&r);
    r = cs_req_ex(a, "DELETE", path, NULL, NULL, "", NULL);
    KVT_EQ_INT(r.status, 403, "keys: a delete without the CSRF token is 403");
    kvt_resp_free(&r);
    r = cs_req(a, "DELETE", path, NULL);
    KVT_EQ_INT(r.status, 200, "keys: the session deletes it (200)");
    kvt_resp_free(&r);
    r = kvt_api(k, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 401, "keys: a deleted key is 401 at once on this gateway");
    kvt_resp_free(&r);
    r = cs_req(a, "DELETE", path, NULL);
    KVT_EQ_INT(r.status, 404, "keys: deleting it again is 404");
    kvt_resp_free(&r);
    r = cs_req(a, "DELETE", "/api/v1/api-keys/999999999999", NULL);
    KVT_EQ_INT(r.status, 404, "keys: an unknown id is 404");
    kvt_resp_free(&r);
}

/* A read-only key from the console: GET works, every write is 403, the
 * list says which key is which, and deleting it works as for any key. */
static void t_key_read_only(cs_client_t *a)
{
    kvt_resp_t r = cs_req(a, "POST", "/api/v1/api-keys", "{\"name\":\"Website Widget\",\"scope\":\"read\"}");
    KVT_EQ_INT(r.status, 201, "keys: a session creates a read-only key (201)");
    KVT_EQ_STR(se_str(&r, "scope"), "read", "keys: ... its scope is read");
    char k[64] = "";
    snprintf(k, sizeof k, "%s", se_str(&r, "key") ? se_str(&r, "key") : "");
    long long kid = se_int(&r, "id");
    kvt_resp_free(&r);

    r = cs_req(a, "GET", "/api/v1/api-keys?per_page=100", NULL);
    const char *scope = NULL;
    json_t *row;
    size_t i;
    json_array_foreach(json_object_get(r.json, "data"), i, row)
        if (json_integer_value(json_object_get(row, "id")) == kid)
            scope = json_string_value(json_object_get(row, "scope"));
    KVT_EQ_STR(scope, "read", "keys: the list shows the key's scope");
    kvt_resp_free(&r);

    r = kvt_api(k, "GET", "/api/v1/customers", NULL);
    KVT_EQ_INT(r.status, 200, "keys: a read-only key reads (200)");
    kvt_resp_free(&r);
    r = kvt_apif(k, "POST", "/api/v1/customers", "{\"name\":\"Not made\",\"phone\":\"+447700900123\"}");
    KVT_EQ_INT(r.status, 403, "keys: a read-only key cannot write (403)");
    KVT_OK(gw_is_error(&r, "This API key is read-only: it may only make GET requests."), "keys: ... and says why");
    kvt_resp_free(&r);

    char path[96];
    snprintf(path, sizeof path, "/api/v1/api-keys/%lld", kid);
    r = cs_req(a, "DELETE", path, NULL);
    KVT_OK(r.status == 200 && se_str(&r, "scope") && strcmp(se_str(&r, "scope"), "read") == 0,
           "keys: deleting a read-only key answers it, scope and all");
    kvt_resp_free(&r);
    r = kvt_api(k, "GET", "/api/v1/customers", NULL);
    KVT_EQ_INT(r.status, 401, "keys: ... and it stops working");
    kvt_resp_free(&r);
}

static void t_key_limit(cs_client_t *a)
{
    int created = 0;
    long st = 0;
    for (int i = 0; i < 120; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"name\":\"bulk %d\"}", i);
        kvt_resp_t r = cs_req(a, "POST", "/api/v1/api-keys", body);
        st = r.status;
        kvt_resp_free(&r);
        if (st != 201)
            break;
        created++;
    }
    KVT_EQ_INT(st, 409, "keys: past 100 active keys a tenant gets 409");
    kvt_resp_t r = cs_req(a, "GET", "/api/v1/api-keys", NULL);
    KVT_EQ_INT(json_integer_value(json_object_get(json_object_get(r.json, "meta"), "total")), 100,
               "keys: ... and holds exactly 100");
    kvt_resp_free(&r);
}

static void t_signout(cs_client_t *a)
{
    char old[64];
    snprintf(old, sizeof old, "%s", a->session);
    kvt_resp_t r = cs_req_ex(a, "DELETE", "/console/api/session", NULL, NULL, "", NULL);
    KVT_EQ_INT(r.status, 403, "signout: without the CSRF token 403");
    kvt_resp_free(&r);
    char attrs[256] = "";
    r = cs_req(a, "DELETE", "/console/api/session", NULL);
    KVT_EQ_INT(r.status, 200, "signout: 200");
    KVT_OK(!a->session[0], "signout: the cookie is cleared");
    KVT_OK(json_is_false(json_object_get(json_object_get(r.json, "data"), "signed_in")), "signout: ... signed_in false");
    (void)attrs;
    kvt_resp_free(&r);
    cs_client_t stale = *a;
    snprintf(stale.session, sizeof stale.session, "%s", old);
    r = cs_req(&stale, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 401, "signout: the old cookie no longer works (401)");
    KVT_OK(gw_is_error(&r, "Session expired or signed out: sign in again."), "signout: ... and says so");
    kvt_resp_free(&r);
}

static void t_disable(long long tb, long long ub, cs_client_t *b, const char *email_b)
{
    kvt_resp_t r = cs_req(b, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 200, "disable: B's session works before");
    kvt_resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/users/%lld/disable", tb, ub);
    r = kvt_admin("POST", path, NULL);
    KVT_EQ_INT(r.status, 200, "disable: admin disables the user");
    KVT_OK(json_string_value(json_object_get(json_object_get(r.json, "data"), "disabled_at")), "disable: ... disabled_at set");
    kvt_resp_free(&r);
    r = cs_req(b, "GET", "/api/v1/services", NULL);
    KVT_EQ_INT(r.status, 401, "disable: the user's session is refused on the very next request");
    kvt_resp_free(&r);
    int in = 1;
    cs_refresh(b, &in);
    KVT_OK(!in, "disable: GET session says signed out");
    KVT_EQ_INT(cs_signin(b, email_b, PW), 401, "disable: a disabled user cannot sign in");
    snprintf(path, sizeof path, "/admin/v1/tenants/%lld/users/999999999/disable", tb);
    r = kvt_admin("POST", path, NULL);
    KVT_EQ_INT(r.status, 404, "disable: an unknown user is 404");
    kvt_resp_free(&r);
}

static void t_static(void)
{
    cs_client_t c;
    cs_init(&c, NULL);
    kvt_resp_t r = cs_req(&c, "GET", "/console/", NULL);
    char etag[80] = "";
    kvt_header(&r, "ETag", etag, sizeof etag);
    KVT_EQ_INT(r.status, 200, "static: /console/ 200");
    KVT_OK(s_has(&r, "Content-Type", "text/html"), "static: ... text/html");
    KVT_OK(r.body && strstr(r.body, "<script type=\"module\" src=\"/console/js/app.js\">") &&
           !strstr(r.body, "<script>") && !strstr(r.body, "style="), "static: ... no inline script or style");
    KVT_OK(s_has(&r, "Content-Security-Policy", "default-src 'self'") &&
           s_has(&r, "Content-Security-Policy", "frame-ancestors 'none'") &&
           !s_has(&r, "Content-Security-Policy", "unsafe-inline"), "static: ... a strict CSP");
    KVT_OK(s_has(&r, "X-Content-Type-Options", "nosniff") && s_has(&r, "Referrer-Policy", "same-origin"),
           "static: ... nosniff and Referrer-Policy");
    KVT_OK(etag[0] == '"' && s_has(&r, "Cache-Control", "no-cache"), "static: ... an ETag and Cache-Control: no-cache");
    kvt_resp_free(&r);
    char inm[120];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    r = cs_req_ex(&c, "GET", "/console/", NULL, "", "", inm);
    KVT_EQ_INT(r.status, 304, "static: If-None-Match with the ETag is 304");
    KVT_OK(r.body_len == 0, "static: ... without a body");
    kvt_resp_free(&r);
    r = cs_req(&c, "GET", "/console/calls/12", NULL);
    char etag2[80] = "";
    kvt_header(&r, "ETag", etag2, sizeof etag2);
    KVT_OK(r.status == 200 && strcmp(etag, etag2) == 0, "static: a page path is index.html");
    kvt_resp_free(&r);
    r = cs_req(&c, "GET", "/console/js/app.js", NULL);
    KVT_OK(r.status == 200 && s_has(&r, "Content-Type", "text/javascript"), "static: a script is text/javascript");
    kvt_resp_free(&r);
    r = cs_req(&c, "GET", "/console/style.css", NULL);
    KVT_OK(r.status == 200 && s_has(&r, "Content-Type", "text/css"), "static: the stylesheet is text/css");
    kvt_resp_free(&r);
    r = cs_req(&c, "HEAD", "/console/style.css", NULL);
    KVT_OK(r.status == 200 && r.body_len == 0, "static: HEAD 200 without a body");
    kvt_resp_free(&r);
    r = cs_req(&c, "GET", "/console/nothing.js", NULL);
    KVT_EQ_INT(r.status, 404, "static: an unknown file is 404");
    kvt_resp_free(&r);
    r = cs_req(&c, "GET", "/console/js/../../../etc/passwd.txt", NULL);
    KVT_EQ_INT(r.status, 404, "static: .. reaches nothing outside the console");
    kvt_resp_free(&r);
    r = cs_req(&c, "POST", "/console/", "{}");
    KVT_EQ_INT(r.status, 405, "static: POST is 405");
    KVT_OK(s_has(&r, "Allow", "GET, HEAD"), "static: ... Allow: GET, HEAD");
    kvt_resp_free(&r);
    r = cs_req(&c, "GET", "/console", NULL);
    KVT_EQ_INT(r.status, 301, "static: /console redirects");
    KVT_OK(s_has(&r, "Location", "/console/"), "static: ... to /console/");
    kvt_resp_free(&r);
    r = cs_req(&c, "GET", "/console/api/nothing", NULL);
    KVT_EQ_INT(r.status, 404, "console api: an unknown route is 404");
    kvt_resp_free(&r);
    r = cs_req(&c, "PUT", "/console/api/session", "{}");
    KVT_EQ_INT(r.status, 405, "console api: PUT session is 405");
    KVT_OK(s_has(&r, "Allow", "GET, HEAD, POST, DELETE"), "console api: ... Allow: GET, HEAD, POST, DELETE");
    kvt_resp_free(&r);
    cs_refresh(&c, NULL);
    r = cs_req_ex(&c, "POST", "/console/api/session", "email=a", NULL, NULL,
                  "Content-Type: application/x-www-form-urlencoded");
    KVT_EQ_INT(r.status, 415, "console api: a form body is 415");
    kvt_resp_free(&r);
    r = cs_req(&c, "POST", "/console/api/session", "{not json");
    KVT_EQ_INT(r.status, 400, "console api: malformed JSON is 400");
    kvt_resp_free(&r);
}

int main(void)
{
    int64_t ta = 0, tb = 0;
    char key_a[64], key_b[64], email_a[128], email_b[128];
    cs_client_t a, b, setup;
    if (kvt_tenant("console-a", "Europe/London", &ta, key_a) != 0 ||
        kvt_tenant("console-b", "UTC", &tb, key_b) != 0) {
        kvt_check(0, "admin API", "console: tenants created");
        return kvt_done();
    }
    cs_email("owner-a", email_a);
    cs_email("owner-b", email_b);
    cs_init(&setup, NULL);
    long long ua = cs_user(NULL, ta, email_a, PW, &setup);
    cs_init(&setup, NULL);
    long long ub = cs_user(NULL, tb, email_b, PW, &setup);
    KVT_OK(ua > 0 && ub > 0, "users: created and their passwords set through their links");

    t_users(ta, email_a);
    t_password_links(ta);
    t_signin(email_a, &a);
    cs_init(&b, NULL);
    KVT_EQ_INT(cs_signin(&b, email_b, PW), 200, "signin: B's user signs in");
    t_session_api(&a, key_a, key_b);
    t_keys(&a, &b, key_a);
    t_key_read_only(&a);
    t_key_limit(&a);
    t_signout(&a);
    t_disable(tb, ub, &b, email_b);
    t_static();
    return kvt_done();
}
