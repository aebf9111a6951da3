/*
 * test_console_sessions.c -- the console's session lifetimes and sign-in
 * throttle, on a gateway of its own with short settings
 * (KAIVOX_SESSION_IDLE_S=2, KAIVOX_SESSION_MAX_S=6,
 * KAIVOX_SIGNIN_ACCOUNT_LIMIT=3, KAIVOX_SIGNIN_ADDRESS_LIMIT=6) behind a
 * trusted proxy (KAIVOX_HTTP_TRUSTED_PROXIES=127.0.0.1): a session unused
 * for the idle time ends; one in constant use ends at its absolute
 * lifetime; failed sign-ins are limited per account (the right password
 * too is refused while the account waits) and per client address, with
 * Retry-After; Secure cookies when the proxy says the request came over
 * TLS.  The limits live in the database, so the test stack's gateway, which
 * shares it, refuses the throttled account as well.
 */
#include "console_e2e.h"

#define PW "correct horse battery"

static gw_private_t s_gw;

/* POST /console/api/session as a client behind the proxy at 127.0.0.1
 * (X-Forwarded-For: xff, may be NULL).  Returns the status, Retry-After
 * into *retry (may be NULL). */
static long s_signin_via(cs_client_t *c, const char *email, const char *pw, const char *xff,
                         long long *retry)
{
    char body[400], fwd[96];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    snprintf(fwd, sizeof fwd, "X-Forwarded-For: %s", xff ? xff : "");
    kvt_resp_t r = cs_req_ex(c, "POST", "/console/api/session", body, NULL, NULL, xff ? fwd : NULL);
    long st = r.status;
    if (retry && gw_hdr_ll(&r, "Retry-After", retry) != 0)
        *retry = -1;
    kvt_resp_free(&r);
    return st;
}

static long s_get(cs_client_t *c, const char *path)
{
    kvt_resp_t r = cs_req(c, "GET", path, NULL);
    long st = r.status;
    kvt_resp_free(&r);
    return st;
}

static void t_idle(const char *email)
{
    cs_client_t c;
    cs_init(&c, s_gw.base_url);
    KVT_EQ_INT(cs_signin(&c, email, PW), 200, "idle: signed in on the short-lived gateway");
    KVT_EQ_INT(s_get(&c, "/api/v1/api-keys"), 200, "idle: the session works");
    kvt_sleep_ms(3500);                                  /* idle 2 s, and a margin */
    KVT_EQ_INT(s_get(&c, "/api/v1/api-keys"), 401, "idle: unused for longer than the idle time, it ends (401)");
    int in = 1;
    cs_refresh(&c, &in);
    KVT_OK(!in, "idle: GET session says signed out");
}

static void t_absolute(const char *email)
{
    cs_client_t c;
    cs_init(&c, s_gw.base_url);
    char body[300], attrs[512] = "";
    cs_refresh(&c, NULL);
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, PW);
    kvt_resp_t r = cs_req(&c, "POST", "/console/api/session", body);
    cs_cookies(&c, &r, attrs, sizeof attrs);
    KVT_OK(r.status == 200 && strstr(attrs, "Max-Age=6;"), "absolute: the cookie lives as long as the session (Max-Age=6)");
    kvt_resp_free(&r);
    cs_refresh(&c, NULL);
    int64_t t0 = kv_mono_ms();
    long st = 200;
    int ok_before = 1;
    /* used every 500 ms, so never idle for 2 s: it must end at 6 s anyway */
    while (kv_mono_ms() - t0 < 12000) {
        int64_t t = kv_mono_ms();
        st = s_get(&c, "/api/v1/api-keys");
        if (st != 200)
            break;
        if (t - t0 > 6500)
            ok_before = 0;                               /* still alive well past 6 s */
        kvt_sleep_ms(500);
    }
    int64_t lived = kv_mono_ms() - t0;
    KVT_EQ_INT(st, 401, "absolute: a session in constant use still ends");
    KVT_OK(ok_before && lived >= 4000, "absolute: ... at its absolute lifetime (lived %lld ms, 6 s)", (long long)lived);
}

static void t_account_throttle(long long tenant)
{
    char email[128];
    cs_client_t c, main_gw;
    cs_email("throttle", email);
    cs_init(&c, s_gw.base_url);
    if (cs_user(&s_gw, tenant, email, PW, &c) < 0) {
        kvt_check(0, "user", "throttle: user made");
        return;
    }
    cs_refresh(&c, NULL);
    long long retry = -1;
    /* three failures, each from another client address of the proxy */
    for (int i = 0; i < 3; i++) {
        char xff[32];
        snprintf(xff, sizeof xff, "198.51.100.%d", 10 + i);
        KVT_EQ_INT(s_signin_via(&c, email, "wrong password!", xff, NULL), 401, "throttle: failure %d is 401", i + 1);
    }
    long st = s_signin_via(&c, email, PW, "198.51.100.20", &retry);
    KVT_EQ_INT(st, 429, "throttle: after 3 failures the account waits, even with the right password (429)");
    KVT_OK(retry > 0 && retry <= 900, "throttle: ... with Retry-After (%lld s)", retry);
    /* the count is in the database: the test stack's gateway (limit 10)
     * continues from these 3 failures, and refuses after 7 more */
    cs_init(&main_gw, NULL);
    cs_refresh(&main_gw, NULL);
    char body[300];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"wrong password!\"}", email);
    int more = 0;
    for (int i = 0; i < 12; i++) {
        kvt_resp_t r = cs_req(&main_gw, "POST", "/console/api/session", body);
        long s2 = r.status;
        kvt_resp_free(&r);
        if (s2 != 401)
            break;
        more++;
    }
    KVT_EQ_INT(more, 7, "throttle: another gateway instance counts on from the same failures (7 more to its limit of 10)");
}

static void t_address_throttle(void)
{
    cs_client_t c;
    cs_init(&c, s_gw.base_url);
    cs_refresh(&c, NULL);
    long st = 0;
    long long retry = -1;
    int fails = 0;
    for (int i = 0; i < 8; i++) {
        char email[128];
        cs_email("nobody", email);                       /* a new account each time */
        st = s_signin_via(&c, email, "whatever password", "203.0.113.77", &retry);
        if (st != 401)
            break;
        fails++;
    }
    KVT_EQ_INT(fails, 6, "throttle: one address gets 6 failures (KAIVOX_SIGNIN_ADDRESS_LIMIT)");
    KVT_EQ_INT(st, 429, "throttle: ... then 429 whatever the account");
    KVT_OK(retry > 0, "throttle: ... with Retry-After");
    char email[128];
    cs_email("nobody", email);
    KVT_EQ_INT(s_signin_via(&c, email, "whatever password", "203.0.113.78", NULL), 401,
               "throttle: another address is not held back");
}

static void t_secure(const char *email)
{
    cs_client_t c;
    cs_init(&c, s_gw.base_url);
    kvt_resp_t r = cs_req_ex(&c, "GET", "/console/api/session", NULL, NULL, NULL,
                             "X-Forwarded-Proto: https");
    char v[300] = "";
    kvt_header(&r, "Set-Cookie", v, sizeof v);
    KVT_OK(strstr(v, "; Secure") != NULL, "secure: behind a trusted proxy that says https, cookies are Secure");
    kvt_resp_free(&r);
    /* the origin check then expects https://host */
    cs_refresh(&c, NULL);
    char body[300], origin[96];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, PW);
    snprintf(origin, sizeof origin, "https://127.0.0.1:%d", s_gw.http_port);
    r = cs_req_ex(&c, "POST", "/console/api/session", body, origin, NULL, "X-Forwarded-Proto: https");
    KVT_EQ_INT(r.status, 200, "secure: an https origin signs in through the proxy");
    kvt_header(&r, "Set-Cookie", v, sizeof v);
    KVT_OK(strstr(v, "kv_session=") && strstr(v, "; Secure"), "secure: ... and kv_session is Secure");
    kvt_resp_free(&r);
    r = cs_req_ex(&c, "POST", "/console/api/session", body, NULL, NULL, "X-Forwarded-Proto: https");
    KVT_EQ_INT(r.status, 403, "secure: an http:// origin is another origin then (403)");
    kvt_resp_free(&r);
}

int main(void)
{
    static const char *const env[] = {
        "KAIVOX_SESSION_IDLE_S=2", "KAIVOX_SESSION_MAX_S=6", "KAIVOX_SIGNIN_ACCOUNT_LIMIT=3",
        "KAIVOX_SIGNIN_ADDRESS_LIMIT=6", "KAIVOX_HTTP_TRUSTED_PROXIES=127.0.0.1", NULL
    };
    int64_t tenant = 0;
    char key[64], email[128];
    if (kvt_tenant("sessions", "UTC", &tenant, key) != 0 ||
        gw_private_start(&s_gw, "gateway-sessions", env) != 0) {
        kvt_check(0, "start", "sessions: tenant and private gateway");
        return kvt_done();
    }
    cs_client_t c;
    cs_init(&c, s_gw.base_url);
    cs_email("sessions", email);
    KVT_OK(cs_user(&s_gw, tenant, email, PW, &c) > 0, "sessions: user made");
    t_idle(email);
    t_absolute(email);
    t_secure(email);
    t_account_throttle(tenant);
    t_address_throttle();
    KVT_EQ_INT(gw_private_stop(&s_gw), 0, "sessions: the gateway stops cleanly");
    return kvt_done();
}
