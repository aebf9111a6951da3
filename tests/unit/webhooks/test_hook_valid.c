/*
 * test_hook_valid.c -- unit tests of services/webhooks/hook_valid.c: the
 * rules of webhook endpoint create and update bodies, without a database
 * or DNS.  Each check is named after the behaviour it proves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/webhooks/hook_valid.h"

/* Parses JSON text (must be valid).  Caller owns the result. */
static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON %s: %s\n", text, e.text);
        abort();
    }
    return v;
}

/* The first message of errors[field], or NULL. */
static const char *s_err(json_t *errors, const char *field)
{
    return json_string_value(json_array_get(json_object_get(errors, field), 0));
}

static void test_create(void)
{
    hook_endpoint_input_t in;
    json_t *errors = json_object();
    json_t *b = J("{\"url\":\"https://8.8.8.8/in\",\"events\":[\"call.missed\","
                  "\"appointment.created\",\"call.missed\"],\"description\":\"CRM\"}");
    KVT_EQ_INT(hook_parse_create(b, HOOK_ALLOW_PUBLIC, &in, errors), 0, "a full create body is valid");
    KVT_EQ_STR(in.events, "{appointment.created,call.missed}",
               "events in canonical order, duplicates dropped");
    KVT_OK(in.url && strcmp(in.url, "https://8.8.8.8/in") == 0 && in.target.literal &&
           in.desc_set && strcmp(in.desc, "CRM") == 0 && !in.active,
           "url, its target and the description are handed on");
    json_decref(b);

    json_object_clear(errors);
    KVT_EQ_INT(hook_parse_create(NULL, HOOK_ALLOW_PUBLIC, &in, errors), -1, "no body is invalid");
    KVT_OK(s_err(errors, "url") && s_err(errors, "events"), "and both url and events are required");

    json_object_clear(errors);
    b = J("{\"url\":\"https://10.0.0.1/\",\"events\":[\"call.ended\"],\"active\":true}");
    KVT_EQ_INT(hook_parse_create(b, HOOK_ALLOW_PUBLIC, &in, errors), -1,
               "a private literal and an update-only field are refused at create");
    KVT_OK(s_err(errors, "url") && s_err(errors, "active"), "each under its own name");
    json_object_clear(errors);
    json_object_del(b, "active");
    KVT_EQ_INT(hook_parse_create(b, HOOK_ALLOW_ALL, &in, errors), 0,
               "the same private literal passes when the guard is lifted");
    json_decref(b);
    json_decref(errors);
}

static void test_update(void)
{
    hook_endpoint_input_t in;
    json_t *errors = json_object();
    json_t *b = J("{}");
    KVT_EQ_INT(hook_parse_update(b, HOOK_ALLOW_PUBLIC, &in, errors), -1, "an empty update is invalid");
    KVT_OK(s_err(errors, "body") != NULL, "under body");
    json_decref(b);

    json_object_clear(errors);
    b = J("{\"active\":false,\"description\":null}");
    KVT_EQ_INT(hook_parse_update(b, HOOK_ALLOW_PUBLIC, &in, errors), 0,
               "active and a null description make an update");
    KVT_OK(in.active && strcmp(in.active, "false") == 0 && in.desc_set && !in.desc && !in.url &&
           !in.events, "active false, description cleared, nothing else");
    json_decref(b);

    json_object_clear(errors);
    b = J("{\"active\":1,\"events\":[]}");
    KVT_EQ_INT(hook_parse_update(b, HOOK_ALLOW_PUBLIC, &in, errors), -1,
               "active 1 and an empty event list are refused");
    KVT_OK(s_err(errors, "active") && s_err(errors, "events"), "each under its own name");
    json_decref(b);
    json_decref(errors);
}

/* fuzz_body_hooks: a name of more than 60 bytes was cut inside a UTF-8
 * character, so the message was not UTF-8, jansson refused it and the
 * error was listed with no message at all
 * (tests/fuzz/body_hooks/utf8-cut-field, utf8-cut-event). */
static void test_long_names(void)
{
    hook_endpoint_input_t in;
    char key[80], body[200];
    memset(key, 'a', 59);
    strcpy(key + 59, "\xc3\xa9");   /* 59 bytes of 'a', then U+00E9: bytes 60 and 61 */
    json_t *errors = json_object();
    snprintf(body, sizeof body, "{\"%s\":1}", key);
    json_t *b = J(body);
    KVT_EQ_INT(hook_parse_update(b, HOOK_ALLOW_PUBLIC, &in, errors), -1, "an unknown long field is refused");
    const char *m = s_err(errors, key);
    KVT_OK(m && strstr(m, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa field is not accepted."),
           "its message names it, cut before the character that does not fit");
    json_decref(b);

    json_object_clear(errors);
    snprintf(body, sizeof body, "{\"events\":[\"%s\"]}", key);
    b = J(body);
    KVT_EQ_INT(hook_parse_update(b, HOOK_ALLOW_PUBLIC, &in, errors), -1, "an unknown long event is refused");
    m = s_err(errors, "events");
    KVT_OK(m && strstr(m, "aaaaaaaaa is not one of appointment.created") != NULL,
           "its message names it, cut before the character that does not fit");
    json_decref(b);

    json_object_clear(errors);
    b = J("{\"events\":[\"\\u00e9\\u00e9\\u00e9\"]}");
    KVT_EQ_INT(hook_parse_update(b, HOOK_ALLOW_PUBLIC, &in, errors), -1, "a short non-ASCII event is refused");
    m = s_err(errors, "events");
    KVT_OK(m && strstr(m, "The event \xc3\xa9\xc3\xa9\xc3\xa9 is not one of") != NULL,
           "and named whole");
    json_decref(b);
    json_decref(errors);
}

int main(void)
{
    test_create();
    test_update();
    test_long_names();
    return kvt_done();
}
