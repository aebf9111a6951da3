/*
 * test_webhooks_dns.c -- host names of webhook URLs are resolved with a
 * deadline, asynchronously, and never at the expense of another tenant.
 *
 * The webhook service is restarted with KAIVOX_WEBHOOK_DNS_SERVERS
 * pointing at a DNS server of this test (wh_dns_*) that answers some
 * names, says NXDOMAIN for one, and never answers the others; and with a
 * 3 s KAIVOX_WEBHOOK_DNS_TIMEOUT_MS, so that a worker held by a lookup
 * would show as a 3 s wait.  Then:
 *  1. a name is resolved through that server, and accepted;
 *  2. a name that resolves to a private address, one that does not exist
 *     and one that never answers all get the same 422 message, which
 *     reveals no address or class; the one that never answers costs its
 *     own request the DNS deadline, no more;
 *  3. three tenants fire concurrent creates with names that never answer:
 *     each gets one lookup at a time (the rest 429 at once), and a fourth
 *     tenant's requests keep their normal latency meanwhile;
 *  4. an update of another tenant's endpoint is 404 at once, and its URL
 *     is never looked up (the ownership check comes first);
 *  5. the deliverer: a receiver whose name stops answering costs its own
 *     attempts their timeout ("could not resolve the host"), while another
 *     tenant's deliveries keep arriving; a name that rebinds to a private
 *     address after creation is refused at delivery, without naming it.
 * The service is restarted with its usual settings at the end.
 */
#include "webhooks_e2e.h"

#define DNS_TIMEOUT_MS 3000
#define ATTACKERS      3
#define PER_ATTACKER   4
#define FAST_MS        1500     /* well under DNS_TIMEOUT_MS: not held by a lookup */

static wh_dns_t s_dns;
static wh_receiver_t s_rcv;
static char s_bkey[64];         /* the bystander tenant */

static long long s_ms_since(long long t0_us)
{
    return (wh_now_us() - t0_us) / 1000;
}

/* POST a create for url with key; status into *status, the answer returned. */
static kvt_resp_t s_create(const char *key, const char *url, long long *ms)
{
    long long t0 = wh_now_us();
    kvt_resp_t r = kvt_apif(key, "POST", "/api/v1/webhooks",
                            "{\"url\":\"%s\",\"events\":[\"call.ended\"]}", url);
    if (ms)
        *ms = s_ms_since(t0);
    return r;
}

/* The first message of errors.url, or "". */
static const char *s_url_error(const kvt_resp_t *r)
{
    json_t *m = json_array_get(json_object_get(json_object_get(r->json, "errors"), "url"), 0);
    return json_string_value(m) ? json_string_value(m) : "";
}

static void test_resolution(const char *key)
{
    char url[256], same[256] = "";
    long long ms;
    snprintf(url, sizeof url, "http://ok.kvt.test:%d/ok/dns", s_rcv.port);
    kvt_resp_t r = s_create(key, url, &ms);
    KVT_EQ_INT(r.status, 201, "a URL whose name resolves to an allowed address is accepted");
    kvt_resp_free(&r);
    KVT_OK(wh_dns_queries(&s_dns, "ok.kvt.test") > 0,
           "the name was looked up through KAIVOX_WEBHOOK_DNS_SERVERS");

    static const char *const names[] = { "internal.kvt.test", "missing.kvt.test",
                                         "hang-single.kvt.test" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(url, sizeof url, "http://%s/hook", names[i]);
        r = s_create(key, url, &ms);
        KVT_EQ_INT(r.status, 422, "%s is refused with 422", names[i]);
        const char *msg = s_url_error(&r);
        KVT_OK(r.body && !strstr(r.body, "10.1.2.3") && !strstr(r.body, "private") &&
               !strstr(r.body, "10.1"), "the answer for %s names no address or class", names[i]);
        if (i == 0)
            snprintf(same, sizeof same, "%s", msg);
        else
            KVT_EQ_STR(msg, same, "%s gets the same message as a private name", names[i]);
        if (i == 2) {
            fprintf(stderr, "dns: a name that never answers took %lld ms\n", ms);
            KVT_OK(ms >= DNS_TIMEOUT_MS - 500 && ms < DNS_TIMEOUT_MS + 2500,
                   "a name that never answers costs its request the DNS deadline (%lld ms)", ms);
        }
        kvt_resp_free(&r);
    }
    KVT_OK(wh_dns_queries(&s_dns, "hang-single.kvt.test") > 0,
           "the name that never answers was asked for");
}

typedef struct {
    const char *key;
    int tenant, n;
    long status;
    long long ms;
} s_shot_t;

static void *s_shoot(void *arg)
{
    s_shot_t *x = arg;
    char url[128];
    snprintf(url, sizeof url, "http://hang-%d-%d.kvt.test/hook", x->tenant, x->n);
    kvt_resp_t r = s_create(x->key, url, &x->ms);
    x->status = r.status;
    kvt_resp_free(&r);
    return NULL;
}

/* The bystander's slowest of n requests (a list and a create with an IP
 * address, alternately), in ms. */
static long long s_bystander(int n, int *bad)
{
    long long worst = 0;
    for (int i = 0; i < n; i++) {
        long long t0 = wh_now_us();
        kvt_resp_t r;
        if (i % 2 == 0) {
            r = kvt_api(s_bkey, "GET", "/api/v1/webhooks", NULL);
            *bad += r.status != 200;
        } else {
            char url[96];
            snprintf(url, sizeof url, "http://127.0.0.1:9/bystander-%d", i % 10);
            r = kvt_apif(s_bkey, "POST", "/api/v1/webhooks",
                         "{\"url\":\"%s\",\"events\":[\"call.ended\"]}", url);
            *bad += r.status != 201 && r.status != 422;   /* 422: its endpoint limit */
        }
        long long ms = s_ms_since(t0);
        if (ms > worst)
            worst = ms;
        kvt_resp_free(&r);
    }
    return worst;
}

static void test_storm(char keys[ATTACKERS][64])
{
    int bad = 0;
    long long base = s_bystander(10, &bad);
    fprintf(stderr, "dns: bystander baseline, slowest of 10: %lld ms\n", base);

    pthread_t th[ATTACKERS * PER_ATTACKER];
    s_shot_t x[ATTACKERS * PER_ATTACKER];
    long long t0 = wh_now_us();
    for (int t = 0; t < ATTACKERS; t++)
        for (int k = 0; k < PER_ATTACKER; k++) {
            s_shot_t *s = &x[t * PER_ATTACKER + k];
            *s = (s_shot_t){ keys[t], t, k, 0, 0 };
            pthread_create(&th[t * PER_ATTACKER + k], NULL, s_shoot, s);
        }
    kvt_sleep_ms(200);          /* the lookups are under way */
    long long during = 0;
    int rounds = 0;
    while (s_ms_since(t0) < DNS_TIMEOUT_MS - 500) {
        long long w = s_bystander(2, &bad);
        if (w > during)
            during = w;
        rounds++;
        kvt_sleep_ms(100);      /* a client's pace, far from the rate limit */
    }
    for (int i = 0; i < ATTACKERS * PER_ATTACKER; i++)
        pthread_join(th[i], NULL);
    fprintf(stderr, "dns: bystander during the storm, slowest of %d: %lld ms\n", rounds * 2,
            during);
    KVT_EQ_INT(bad, 0, "the bystander's requests all succeeded");
    long long bound = base * 3 > FAST_MS ? base * 3 : FAST_MS;
    KVT_OK(rounds > 0 && during < bound,
           "another tenant's requests keep their latency while 3 tenants' lookups hang "
           "(%lld ms, bound %lld ms)", during, bound);

    for (int t = 0; t < ATTACKERS; t++) {
        int refused = 0, busy = 0, other = 0;
        long long slow = 0;
        for (int k = 0; k < PER_ATTACKER; k++) {
            s_shot_t *s = &x[t * PER_ATTACKER + k];
            if (s->status == 422) {
                refused++;
                slow = s->ms;
            } else if (s->status == 429) {
                busy++;
                KVT_OK(s->ms < FAST_MS, "tenant %d: a second concurrent lookup is refused at "
                       "once (%lld ms)", t, s->ms);
            } else if (s->status != 503) {
                other++;
            }
        }
        fprintf(stderr, "dns: tenant %d: %d x 422 (%lld ms), %d x 429\n", t, refused, slow, busy);
        KVT_OK(refused >= 1, "tenant %d: its own lookup ran and ended in 422", t);
        KVT_OK(busy >= 1, "tenant %d: one lookup at a time (the others 429)", t);
        KVT_EQ_INT(other, 0, "tenant %d: no other answer", t);
    }
}

static void test_ownership_first(const char *owner_key)
{
    long long id = wh_endpoint(owner_key, "http://127.0.0.1:9/owned", "[\"call.ended\"]", NULL);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld", id);
    long long t0 = wh_now_us();
    kvt_resp_t r = kvt_apif(s_bkey, "PATCH", path, "{\"url\":\"http://own.kvt.test/x\"}");
    long long ms = s_ms_since(t0);
    KVT_EQ_INT(r.status, 404, "updating another tenant's endpoint is 404");
    KVT_OK(ms < FAST_MS, "at once, not after a lookup (%lld ms)", ms);
    kvt_resp_free(&r);
    KVT_EQ_INT(wh_dns_queries(&s_dns, "own.kvt.test"), 0,
               "the URL of a foreign endpoint's update is never looked up");
    r = kvt_apif(s_bkey, "PATCH", path, "{\"bogus\":1}");
    KVT_EQ_INT(r.status, 404, "another tenant's endpoint is 404 before any validation");
    kvt_resp_free(&r);
}

/* Logs one answered call for key; 0 or -1. */
static int s_call(const char *key)
{
    kvt_resp_t r = kvt_api(key, "POST", "/api/v1/calls",
                           "{\"caller_phone\":\"+15550409999\",\"started_at\":"
                           "\"2026-03-10T14:00:00Z\",\"duration_seconds\":60}");
    int ok = r.status == 201;
    kvt_resp_free(&r);
    return ok ? 0 : -1;
}

/* Waits for the first attempt of endpoint ep's newest delivery; returns
 * its error text (copied into buf) and duration, or -1. */
static long long s_first_attempt(const char *key, long long ep, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int waited = 0; waited < 20000; waited += 200) {
        kvt_resp_t r = wh_deliveries(key, ep, 1);
        json_t *a = json_array_get(json_object_get(json_array_get(se_data(&r), 0), "attempts"), 0);
        if (a) {
            const char *e = json_string_value(json_object_get(a, "error"));
            snprintf(buf, size, "%s", e ? e : "");
            long long ms = json_integer_value(json_object_get(a, "duration_ms"));
            int no_code = json_is_null(json_object_get(a, "status_code"));
            kvt_resp_free(&r);
            return no_code ? ms : -1;
        }
        kvt_resp_free(&r);
        kvt_sleep_ms(200);
    }
    return -1;
}

static void test_deliverer(const char *ekey, const char *fkey, const char *gkey)
{
    char url[256], err[320];
    snprintf(url, sizeof url, "http://flip.kvt.test:%d/ok/flip", s_rcv.port);
    long long ep_e = wh_endpoint(ekey, url, "[\"call.ended\"]", NULL);
    snprintf(url, sizeof url, "http://rebind.kvt.test:%d/ok/rebind", s_rcv.port);
    long long ep_g = wh_endpoint(gkey, url, "[\"call.ended\"]", NULL);
    wh_url(&s_rcv, "/ok/bystander", url, sizeof url);
    long long ep_f = wh_endpoint(fkey, url, "[\"call.ended\"]", NULL);
    KVT_OK(ep_e > 0 && ep_g > 0 && ep_f > 0, "endpoints by name (resolving) and by address");

    /* flip stops answering; rebind now points at a private address. */
    wh_dns_set(&s_dns, "flip.kvt.test", WH_DNS_IGNORE, NULL);
    wh_dns_set(&s_dns, "rebind.kvt.test", WH_DNS_ANSWER, "10.9.8.7");
    kvt_sleep_ms(1500);         /* past the 1 s TTL of what was answered */

    KVT_OK(s_call(ekey) == 0 && s_call(gkey) == 0, "events for both names");
    kvt_sleep_ms(300);          /* the lookup for flip is under way */
    long long t0 = wh_now_us();
    KVT_OK(s_call(fkey) == 0, "an event for another tenant meanwhile");
    int got = wh_wait_count(&s_rcv, "/ok/bystander", 1, 10000);
    long long lat = got ? (wh_received_us(&s_rcv, "/ok/bystander", 1) - t0) / 1000 : -1;
    fprintf(stderr, "dns: the other tenant's delivery arrived after %lld ms\n", lat);
    KVT_OK(got == 1 && lat >= 0 && lat < FAST_MS,
           "another tenant's delivery is not held up by a lookup that hangs (%lld ms)", lat);

    long long ms = s_first_attempt(ekey, ep_e, err, sizeof err);
    fprintf(stderr, "dns: hanging name at delivery: %lld ms, \"%s\"\n", ms, err);
    KVT_OK(ms >= DNS_TIMEOUT_MS - 500 && strstr(err, "could not resolve the host"),
           "a name that stops answering fails its attempt after the DNS deadline (%lld ms, %s)",
           ms, err);
    KVT_EQ_INT(wh_count(&s_rcv, "/ok/flip"), 0, "and nothing was sent");

    ms = s_first_attempt(gkey, ep_g, err, sizeof err);
    fprintf(stderr, "dns: rebound name at delivery: \"%s\"\n", err);
    KVT_OK(ms >= 0 && strstr(err, "refused"),
           "a name rebound to a private address is refused at delivery (%s)", err);
    KVT_OK(!strstr(err, "10.9.8.7") && !strstr(err, "private"),
           "the refusal names neither the address nor its class");
    KVT_EQ_INT(wh_count(&s_rcv, "/ok/rebind"), 0, "and nothing reached the receiver");

    /* The deliverer still works for the other tenant. */
    t0 = wh_now_us();
    KVT_OK(s_call(fkey) == 0, "another event for the other tenant");
    got = wh_wait_count(&s_rcv, "/ok/bystander", 2, 10000);
    lat = got == 2 ? (wh_received_us(&s_rcv, "/ok/bystander", 2) - t0) / 1000 : -1;
    KVT_OK(got == 2 && lat < FAST_MS, "it arrives promptly too (%lld ms)", lat);
    char del[96];
    snprintf(del, sizeof del, "/api/v1/webhooks/%lld", ep_e);
    kvt_resp_t r = kvt_api(ekey, "DELETE", del, NULL);   /* no retries left behind */
    kvt_resp_free(&r);
    snprintf(del, sizeof del, "/api/v1/webhooks/%lld", ep_g);
    r = kvt_api(gkey, "DELETE", del, NULL);
    kvt_resp_free(&r);
}

int main(void)
{
    char akeys[ATTACKERS][64], ekey[64], fkey[64], gkey[64], env_servers[64], env_timeout[64];
    wh_dns_start(&s_dns);
    wh_dns_set(&s_dns, "ok.kvt.test", WH_DNS_ANSWER, "127.0.0.1");
    wh_dns_set(&s_dns, "internal.kvt.test", WH_DNS_ANSWER, "10.1.2.3");
    wh_dns_set(&s_dns, "missing.kvt.test", WH_DNS_NXDOMAIN, NULL);
    wh_dns_set(&s_dns, "flip.kvt.test", WH_DNS_ANSWER, "127.0.0.1");
    wh_dns_set(&s_dns, "rebind.kvt.test", WH_DNS_ANSWER, "127.0.0.1");
    wh_dns_set(&s_dns, "hang-single.kvt.test", WH_DNS_IGNORE, NULL);   /* counted */
    wh_dns_set(&s_dns, "own.kvt.test", WH_DNS_IGNORE, NULL);
    wh_receiver_start(&s_rcv, 5000);
    for (int t = 0; t < ATTACKERS; t++)
        se_tenant("wh-dns-attacker", "UTC", 0, akeys[t]);
    se_tenant("wh-dns-bystander", "UTC", 0, s_bkey);
    se_tenant("wh-dns-e", "UTC", 0, ekey);
    se_tenant("wh-dns-f", "UTC", 0, fkey);
    se_tenant("wh-dns-g", "UTC", 0, gkey);

    snprintf(env_servers, sizeof env_servers, "KAIVOX_WEBHOOK_DNS_SERVERS=127.0.0.1:%d",
             s_dns.port);
    snprintf(env_timeout, sizeof env_timeout, "KAIVOX_WEBHOOK_DNS_TIMEOUT_MS=%d", DNS_TIMEOUT_MS);
    const char *env[] = { env_servers, env_timeout, NULL };
    KVT_EQ_INT(wh_restart("webhooks", env, s_bkey), 0,
               "the webhook service runs with the test's DNS server");

    test_resolution(akeys[0]);
    test_storm(akeys);
    test_ownership_first(akeys[1]);
    test_deliverer(ekey, fkey, gkey);

    KVT_EQ_INT(wh_restart("webhooks", NULL, s_bkey), 0,
               "the webhook service runs with its usual settings again");
    wh_receiver_stop(&s_rcv);
    wh_dns_stop(&s_dns);
    return kvt_done();
}
