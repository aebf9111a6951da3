/*
 * crm_valid.c -- the crm service's input rules (see crm_valid.h).
 *
 * Messages follow the wording of the API reference's example ("The date
 * field is required."), one list per field.  Strings are trimmed of ASCII
 * white space before they are checked, like most web frameworks do, so
 * "  Ann " is stored as "Ann" and a blank name counts as missing.  Optional
 * fields given as null or "" count as absent.
 */
#include "crm_valid.h"

#include <stdio.h>
#include <string.h>

#include "kv_api.h"
#include "kv_mem.h"
#include "kv_valid.h"

const char *const crm_segments[] = { "lead", "active", "inactive", "vip", NULL };
const char *const crm_stages[] = { "new", "contacted", "qualified", "proposal", "won",
                                   "lost", NULL };

static const char *const s_create_fields[] = { "name", "phone", "email", "segment",
                                               "pipeline_stage", "notes", "source", NULL };
static const char *const s_patch_fields[] = { "segment", "pipeline_stage", "notes",
                                              "email", NULL };

#define S_MSG_SEGMENT "The selected segment is invalid: use one of lead, active, inactive, vip."
#define S_MSG_STAGE "The selected pipeline_stage is invalid: use one of new, contacted, " \
    "qualified, proposal, won, lost."
#define S_MSG_PHONE "The phone format is invalid: use 7 to 15 digits, optionally after " \
    "a leading + (spaces, dashes, dots and brackets are ignored)."
#define S_MSG_SOURCE "The source must be 1 to 32 characters of a-z, 0-9 and _, " \
    "starting with a letter."

int crm_check_source(const char *s)
{
    if (!s || !(s[0] >= 'a' && s[0] <= 'z'))
        return -1;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return -1;
    }
    return n <= CRM_SOURCE_MAX ? 0 : -1;
}

size_t crm_utf8_chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

char *crm_like_escape(const char *s)
{
    size_t len = strlen(s);
    char *out = kv_malloc(2 * len + 1);
    char *o = out;
    for (const char *p = s; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

int crm_search_digits(const char *s, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n + 1 >= size)
                return -1;
            out[n++] = *p;
        } else if (!strchr(" +-.()", *p)) {
            n = 0;
            break;
        }
    }
    out[n] = '\0';
    return n > 0 ? 0 : -1;
}

/* ---- field helpers --------------------------------------------------- */

static int s_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* A trimmed copy of s.  Caller owns the result. */
static char *s_trim_dup(const char *s)
{
    while (s_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && s_space(s[n - 1]))
        n--;
    return kv_strndup(s, n);
}

static void s_add(json_t *errors, const char *field, const char *fmt, const char *arg)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg);
    kv_errors_add(errors, field, msg);
}

/* Reads the optional string field `field` of body.  Returns 1 when absent,
 * null or blank (*out NULL), 0 with *out a trimmed copy the caller owns, -1
 * when not a string (error recorded). */
static int s_opt_string(json_t *body, const char *field, char **out, json_t *errors)
{
    *out = NULL;
    json_t *v = json_object_get(body, field);
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_string(v)) {
        s_add(errors, field, "The %s must be a string.", field);
        return -1;
    }
    char *t = s_trim_dup(json_string_value(v));
    if (t[0] == '\0') {
        free(t);
        return 1;
    }
    *out = t;
    return 0;
}

/* Checks a name (trimmed, non-empty).  0 or -1 with an error. */
static int s_check_name(const char *name, json_t *errors)
{
    if (crm_utf8_chars(name) > CRM_NAME_MAX) {
        kv_errors_add(errors, "name", "The name may not be greater than 200 characters.");
        return -1;
    }
    if (!kv_valid_text(name, (size_t)-1) || strpbrk(name, "\t\r\n")) {
        kv_errors_add(errors, "name", "The name may not contain control characters.");
        return -1;
    }
    return 0;
}

/* Refuses every key of body not in allowed (at most CRM_UNKNOWN_MAX are
 * named).  0 when there is none. */
static int s_refuse_unknown(json_t *body, const char *const *allowed, json_t *errors)
{
    const char *key;
    json_t *v;
    int bad = 0;
    json_object_foreach(body, key, v) {
        if (kv_pick(allowed, key))
            continue;
        if (bad++ < CRM_UNKNOWN_MAX) {
            char msg[128];
            snprintf(msg, sizeof msg, "The %.64s field is not allowed.", key);
            kv_errors_add(errors, key, msg);
        }
    }
    return bad ? -1 : 0;
}

/* Reads an optional enum field.  Returns 1 absent, 0 valid (*out set to the
 * table entry), -1 invalid (error recorded).  null counts as absent when
 * null_ok, else as invalid. */
static int s_enum(json_t *body, const char *field, const char *const *table,
                  const char *msg, int null_ok, const char **out, json_t *errors)
{
    json_t *v = json_object_get(body, field);
    if (!v || (null_ok && json_is_null(v)))
        return 1;
    const char *pick = json_is_string(v) ? kv_pick(table, json_string_value(v)) : NULL;
    if (!pick) {
        kv_errors_add(errors, field, msg);
        return -1;
    }
    *out = pick;
    return 0;
}

/* Reads the optional email of body.  Returns 1 when absent/null/blank
 * (*out NULL), 0 with an owned valid *out, -1 on error. */
static int s_email(json_t *body, char **out, json_t *errors)
{
    int rc = s_opt_string(body, "email", out, errors);
    if (rc == 0 && kv_valid_email(*out) != 0) {
        kv_errors_add(errors, "email", "The email must be a valid email address.");
        free(*out);
        *out = NULL;
        return -1;
    }
    return rc;
}

/* Reads the optional notes of body (not trimmed: line structure is the
 * user's).  Returns 1 when absent, null or "", 0 with an owned *out, -1 on
 * error. */
static int s_notes(json_t *body, char **out, json_t *errors)
{
    *out = NULL;
    json_t *v = json_object_get(body, "notes");
    if (!v || json_is_null(v))
        return 1;
    if (!json_is_string(v)) {
        kv_errors_add(errors, "notes", "The notes must be a string.");
        return -1;
    }
    const char *s = json_string_value(v);
    if (s[0] == '\0')
        return 1;
    if (crm_utf8_chars(s) > CRM_NOTES_MAX) {
        kv_errors_add(errors, "notes", "The notes may not be greater than 5000 characters.");
        return -1;
    }
    if (!kv_valid_text(s, (size_t)-1)) {
        kv_errors_add(errors, "notes", "The notes may not contain control characters.");
        return -1;
    }
    *out = kv_strdup(s);
    return 0;
}

/* Reads the required phone of body into phone.  0 or -1 with an error. */
static int s_phone(json_t *body, char phone[17], json_t *errors)
{
    json_t *v = json_object_get(body, "phone");
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
        kv_errors_add(errors, "phone", "The phone field is required.");
        return -1;
    }
    if (!json_is_string(v)) {
        kv_errors_add(errors, "phone", "The phone must be a string.");
        return -1;
    }
    if (kv_normalize_phone(json_string_value(v), phone) != 0) {
        kv_errors_add(errors, "phone", S_MSG_PHONE);
        return -1;
    }
    return 0;
}

static void s_body_not_object(json_t *errors)
{
    kv_errors_add(errors, "body", "The request body must be a JSON object.");
}

/* ---- create ------------------------------------------------------------ */

int crm_parse_create(json_t *body, crm_create_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    out->segment = "lead";
    out->stage = "new";
    if (!json_is_object(body)) {
        s_body_not_object(errors);
        return -1;
    }
    int bad = s_refuse_unknown(body, s_create_fields, errors) != 0;

    int rc = s_opt_string(body, "name", &out->name, errors);
    if (rc == 1) {
        kv_errors_add(errors, "name", "The name field is required.");
        bad = 1;
    } else if (rc < 0 || s_check_name(out->name, errors) != 0) {
        bad = 1;
    }
    if (s_phone(body, out->phone, errors) != 0)
        bad = 1;
    if (s_email(body, &out->email, errors) < 0)
        bad = 1;
    if (s_enum(body, "segment", crm_segments, S_MSG_SEGMENT, 1, &out->segment, errors) < 0)
        bad = 1;
    if (s_enum(body, "pipeline_stage", crm_stages, S_MSG_STAGE, 1, &out->stage, errors) < 0)
        bad = 1;
    if (s_notes(body, &out->notes, errors) < 0)
        bad = 1;
    rc = s_opt_string(body, "source", &out->source, errors);
    if (rc == 1) {
        out->source = kv_strdup("api");
    } else if (rc < 0) {
        bad = 1;
    } else if (crm_check_source(out->source) != 0) {
        kv_errors_add(errors, "source", S_MSG_SOURCE);
        bad = 1;
    }
    return bad ? -1 : 0;
}

void crm_create_cleanup(crm_create_t *c)
{
    free(c->name);
    free(c->email);
    free(c->notes);
    free(c->source);
    c->name = c->email = c->notes = c->source = NULL;
}

/* ---- update -------------------------------------------------------------- */

int crm_parse_patch(json_t *body, crm_patch_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(body)) {
        s_body_not_object(errors);
        return -1;
    }
    if (json_object_size(body) == 0) {
        kv_errors_add(errors, "body", "The request body must contain at least one of "
                      "segment, pipeline_stage, notes, email.");
        return -1;
    }
    int bad = 0;
    if (json_object_get(body, "phone")) {
        kv_errors_add(errors, "phone", "Phone cannot be updated via API");
        bad = 1;
    }
    json_t *rest = json_copy(body);
    json_object_del(rest, "phone");
    if (s_refuse_unknown(rest, s_patch_fields, errors) != 0)
        bad = 1;
    json_decref(rest);

    int rc = s_enum(body, "segment", crm_segments, S_MSG_SEGMENT, 0, &out->segment, errors);
    if (rc < 0)
        bad = 1;
    out->set_segment = rc == 0;
    rc = s_enum(body, "pipeline_stage", crm_stages, S_MSG_STAGE, 0, &out->stage, errors);
    if (rc < 0)
        bad = 1;
    out->set_stage = rc == 0;
    if (json_object_get(body, "notes")) {
        if (s_notes(body, &out->notes, errors) < 0)
            bad = 1;
        out->set_notes = 1;
    }
    if (json_object_get(body, "email")) {
        if (s_email(body, &out->email, errors) < 0)
            bad = 1;
        out->set_email = 1;
    }
    return bad ? -1 : 0;
}

void crm_patch_cleanup(crm_patch_t *p)
{
    free(p->notes);
    free(p->email);
    p->notes = p->email = NULL;
}

/* ---- find_or_create -------------------------------------------------------- */

int crm_parse_caller(json_t *body, char phone[17], char **name, json_t *errors)
{
    *name = NULL;
    phone[0] = '\0';
    if (!json_is_object(body)) {
        s_body_not_object(errors);
        return -1;
    }
    int bad = s_phone(body, phone, errors) != 0;
    int rc = s_opt_string(body, "name", name, errors);
    if (rc < 0 || (rc == 0 && s_check_name(*name, errors) != 0)) {
        free(*name);
        *name = NULL;
        bad = 1;
    } else if (rc == 1) {
        *name = kv_strdup(CRM_DEFAULT_NAME);
    }
    if (bad) {
        free(*name);
        *name = NULL;
        return -1;
    }
    return 0;
}

/* ---- list filters ---------------------------------------------------------- */

/* Reads the optional enum query value key into *out (NULL when absent or
 * empty).  0 or -1 with an error. */
static int s_filter_enum(json_t *query, const char *key, const char *const *table,
                         const char *msg, const char **out, json_t *errors)
{
    *out = NULL;
    json_t *v = json_is_object(query) ? json_object_get(query, key) : NULL;
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return 0;
    if (json_is_string(v) && (*out = kv_pick(table, json_string_value(v))))
        return 0;
    kv_errors_add(errors, key, msg);
    return -1;
}

int crm_parse_filter(json_t *query, crm_filter_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    int bad = 0;
    if (s_filter_enum(query, "segment", crm_segments, S_MSG_SEGMENT, &out->segment, errors))
        bad = 1;
    if (s_filter_enum(query, "pipeline_stage", crm_stages, S_MSG_STAGE, &out->stage, errors))
        bad = 1;
    json_t *qv = json_is_object(query) ? json_object_get(query, "search") : NULL;
    if (qv && !json_is_null(qv)) {
        char *term = json_is_string(qv) ? s_trim_dup(json_string_value(qv)) : NULL;
        if (!term) {
            kv_errors_add(errors, "search", "The search must be a string.");
            bad = 1;
        } else if (crm_utf8_chars(term) > CRM_SEARCH_MAX) {
            kv_errors_add(errors, "search", "The search may not be greater than 100 characters.");
            bad = 1;
        } else if (!kv_valid_text(term, (size_t)-1)) {
            kv_errors_add(errors, "search", "The search may not contain control characters.");
            bad = 1;
        } else if (term[0]) {
            out->like = crm_like_escape(term);
            crm_search_digits(term, out->digits, sizeof out->digits);
        }
        free(term);
    }
    return bad ? -1 : 0;
}

void crm_filter_cleanup(crm_filter_t *f)
{
    free(f->like);
    f->like = NULL;
}
