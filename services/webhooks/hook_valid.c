/*
 * hook_valid.c -- the webhook endpoint resource's input rules (see
 * hook_valid.h): the fields of a create and an update body, the URL's
 * shape and the SSRF guard of an IP address.  Pure: the handlers of
 * endpoints.c resolve host names and talk to the database.
 */
#include "hook_valid.h"

#include <stdio.h>
#include <string.h>

#include "hook.h"
#include "kv_api.h"
#include "kv_valid.h"

#define S_DESC_MAX 1000

/* The length of s's first max bytes, or less so that no UTF-8 character
 * is cut: a message that holds half a character is not UTF-8, and jansson
 * refuses it (the error would be listed without its message). */
static int s_prefix(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return (int)n;
}

/* Checks body's keys against the allowed list; each unknown one adds an
 * error under its own name. */
static void s_unknown_fields(json_t *body, const char *const *allowed, json_t *errors)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (!kv_pick(allowed, key)) {
            char msg[160];
            snprintf(msg, sizeof msg, "The %.*s field is not accepted.", s_prefix(key, 60), key);
            kv_errors_add(errors, key, msg);
        }
    }
}

/* Validates url (a string) into errors["url"] without any lookup: its
 * shape (hook_url_parse) and, for an IP address, the SSRF guard under
 * policy.  On
 * success returns the URL (borrowed from v) and fills *target. */
static const char *s_check_url(json_t *v, hook_allow_t policy, hook_url_t *target,
                               json_t *errors)
{
    char err[200];
    if (!json_is_string(v) || json_string_length(v) == 0) {
        kv_errors_add(errors, "url", "The url must be a non-empty string.");
        return NULL;
    }
    const char *url = json_string_value(v);
    if (strlen(url) > HOOK_URL_MAX) {
        snprintf(err, sizeof err, "The url may not be greater than %d characters.", HOOK_URL_MAX);
        kv_errors_add(errors, "url", err);
        return NULL;
    }
    if (!kv_valid_text(url, HOOK_URL_MAX) || strpbrk(url, " \r\n\t")) {
        kv_errors_add(errors, "url", "The url must be a valid URL.");
        return NULL;
    }
    if (hook_url_parse(url, target, err, sizeof err) != 0) {
        kv_errors_add(errors, "url", err);
        return NULL;
    }
    if (target->literal &&
        !hook_ssrf_allowed((const struct sockaddr *)&target->addr, policy)) {
        hook_url_refused_literal((const struct sockaddr *)&target->addr, err, sizeof err);
        kv_errors_add(errors, "url", err);
        return NULL;
    }
    return url;
}

/* Validates events (a non-empty list of known type names) into a
 * PostgreSQL array literal in buf (room for all five names), in the
 * canonical order, duplicates dropped.  0 or -1 (errors filled). */
static int s_check_events(json_t *v, char *buf, size_t size, json_t *errors)
{
    size_t i;
    json_t *e;
    unsigned mask = 0;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        kv_errors_add(errors, "events",
                      "The events must be a non-empty list of event names.");
        return -1;
    }
    json_array_foreach(v, i, e) {
        const char *name = json_string_value(e);
        int k = name ? hook_event_index(name) : -1;
        if (k < 0) {
            char msg[200];
            if (!name)
                name = "(not a string)";
            snprintf(msg, sizeof msg, "The event %.*s is not one of appointment.created, "
                     "appointment.cancelled, call.ended, call.missed, appointment.rescheduled.",
                     s_prefix(name, 60), name);
            kv_errors_add(errors, "events", msg);
            return -1;
        }
        mask |= 1u << k;
    }
    size_t used = 0;
    buf[used++] = '{';
    for (int k = 0; k < HOOK_EVENT_TYPES; k++) {
        if (!(mask & (1u << k)))
            continue;
        const char *name = hook_event_name(k);
        size_t n = strlen(name);
        if (used + n + 3 > size)
            return -1;
        if (used > 1)
            buf[used++] = ',';
        memcpy(buf + used, name, n);
        used += n;
    }
    buf[used++] = '}';
    buf[used] = '\0';
    return 0;
}

/* Validates description: absent (*set 0), null, or a string of at most
 * S_DESC_MAX bytes of text.  *out is borrowed from v. */
static void s_check_desc(json_t *v, int *set, const char **out, json_t *errors)
{
    *set = 0;
    *out = NULL;
    if (!v)
        return;
    if (json_is_null(v)) {
        *set = 1;
        return;
    }
    if (!json_is_string(v) || !kv_valid_text(json_string_value(v), S_DESC_MAX)) {
        kv_errors_add(errors, "description",
                      "The description must be a text of at most 1000 characters.");
        return;
    }
    *set = 1;
    *out = json_string_value(v);
}

int hook_parse_create(json_t *body, hook_allow_t policy, hook_endpoint_input_t *out,
                      json_t *errors)
{
    static const char *const allowed[] = { "url", "events", "description", NULL };
    memset(out, 0, sizeof *out);
    size_t n0 = json_object_size(errors);
    if (!json_is_object(body)) {
        kv_errors_add(errors, "url", "The url field is required.");
        kv_errors_add(errors, "events", "The events field is required.");
        return -1;
    }
    s_unknown_fields(body, allowed, errors);
    json_t *ev = json_object_get(body, "events");
    if (!ev)
        kv_errors_add(errors, "events", "The events field is required.");
    else if (s_check_events(ev, out->events_buf, sizeof out->events_buf, errors) == 0)
        out->events = out->events_buf;
    s_check_desc(json_object_get(body, "description"), &out->desc_set, &out->desc, errors);
    json_t *u = json_object_get(body, "url");
    if (!u)
        kv_errors_add(errors, "url", "The url field is required.");
    else
        out->url = s_check_url(u, policy, &out->target, errors);
    return json_object_size(errors) == n0 ? 0 : -1;
}

int hook_parse_update(json_t *body, hook_allow_t policy, hook_endpoint_input_t *out,
                      json_t *errors)
{
    static const char *const allowed[] = { "url", "events", "description", "active", NULL };
    memset(out, 0, sizeof *out);
    size_t n0 = json_object_size(errors);
    if (!json_is_object(body) || json_object_size(body) == 0) {
        kv_errors_add(errors, "body", "Give at least one of url, events, description, active.");
        return -1;
    }
    s_unknown_fields(body, allowed, errors);
    json_t *ev = json_object_get(body, "events");
    if (ev && s_check_events(ev, out->events_buf, sizeof out->events_buf, errors) == 0)
        out->events = out->events_buf;
    s_check_desc(json_object_get(body, "description"), &out->desc_set, &out->desc, errors);
    json_t *a = json_object_get(body, "active");
    if (a && !json_is_boolean(a))
        kv_errors_add(errors, "active", "The active field must be true or false.");
    else if (a)
        out->active = json_is_true(a) ? "true" : "false";
    json_t *u = json_object_get(body, "url");
    if (u)
        out->url = s_check_url(u, policy, &out->target, errors);
    return json_object_size(errors) == n0 ? 0 : -1;
}
