/*
 * fuzz_body_hooks.c -- the bodies of POST /api/v1/webhooks and PATCH
 * /api/v1/webhooks/{id}: any bytes through the gateway's JSON parse and
 * the bus (fuzz_body), then hook_parse_create and hook_parse_update under
 * each SSRF policy (public, loopback, all).
 *
 * Properties: success exactly when no error was added, every error a
 * non-empty list of non-empty messages (in UTF-8: jansson refuses
 * anything else, so a message cut inside a character would vanish); a
 * valid body has a URL that hook_url_parse accepts, whose literal address
 * the policy allows; events a PostgreSQL array literal of known event
 * names in canonical order without duplicates; a description of at most
 * 1000 bytes of text; active "true" or "false"; and what the public policy
 * accepts, the wider ones accept too.
 */
#include "fuzz.h"

#include <sys/socket.h>

#include "kv_valid.h"
#include "../../services/webhooks/hook.h"
#include "../../services/webhooks/hook_valid.h"

static void s_events(const char *lit)
{
    size_t n = strlen(lit);
    FUZZ_CHECK(n >= 2 && lit[0] == '{' && lit[n - 1] == '}');
    char buf[HOOK_EVENTS_LITERAL_MAX];
    memcpy(buf, lit + 1, n - 2);
    buf[n - 2] = '\0';
    int last = -1, count = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int k = hook_event_index(t);
        FUZZ_CHECK(k > last);   /* known, canonical order, no duplicate */
        last = k;
        count++;
    }
    FUZZ_CHECK(count >= 1 && count <= HOOK_EVENT_TYPES);
}

static int s_one(json_t *body, int update, hook_allow_t policy)
{
    json_t *errors = json_object();
    hook_endpoint_input_t in;
    int rc = update ? hook_parse_update(body, policy, &in, errors)
                    : hook_parse_create(body, policy, &in, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        FUZZ_CHECK(update || (in.url && in.events));
        if (in.url) {
            hook_url_t u;
            char err[200];
            FUZZ_CHECK(hook_url_parse(in.url, &u, err, sizeof err) == 0);
            FUZZ_CHECK(!u.literal ||
                       hook_ssrf_allowed((const struct sockaddr *)&u.addr, policy));
        }
        if (in.events)
            s_events(in.events);
        FUZZ_CHECK(in.desc_set || !in.desc);
        FUZZ_CHECK(!in.desc || kv_valid_text(in.desc, 1000));
        FUZZ_CHECK(!in.active || strcmp(in.active, "true") == 0 ||
                   strcmp(in.active, "false") == 0);
        FUZZ_CHECK(update || !in.active);
    }
    json_decref(errors);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body;
    json_t *bus = fuzz_body(data, size, &body);
    if (!bus)
        return 0;
    for (int update = 0; update <= 1; update++) {
        int pub = s_one(body, update, HOOK_ALLOW_PUBLIC);
        int lo = s_one(body, update, HOOK_ALLOW_LOOPBACK);
        int all = s_one(body, update, HOOK_ALLOW_ALL);
        FUZZ_CHECK(pub != 0 || lo == 0);
        FUZZ_CHECK(lo != 0 || all == 0);
    }
    json_decref(bus);
    return 0;
}
