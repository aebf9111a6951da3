/*
 * crm_valid.c -- the crm service's input rules (see crm_valid.h).
 *
 * Every field goes through one of the shared readers of kv_valid.h, so a
 * rule (and its message) is the same here as in scheduling and calls: the
 * name is kv_rule_person_name, notes kv_rule_notes, source kv_rule_source
 * (the appointment's source follows the same rule).  Messages follow the
 * wording of the API reference's example ("The date field is required."),
 * one list per field.  Names and e-mails are trimmed of ASCII white space
 * before they are checked, like most web frameworks do, so "  Ann " is
 * stored as "Ann" and a blank name counts as missing.  Optional fields
 * given as null count as absent, and so does "" for the e-mail and notes;
 * "" is not a source (a token has at least one character).
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

const kv_text_rule_t crm_rule_email = { 1, KV_CUSTOMER_EMAIL_MAX, KV_TEXT_LINE,
                                        KV_TEXT_TRIM | KV_TEXT_BLANK_ABSENT };
const kv_text_rule_t crm_rule_search = { 0, KV_CUSTOMER_SEARCH_MAX, KV_TEXT_LINE,
                                         KV_TEXT_TRIM | KV_TEXT_BLANK_ABSENT };

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
            if (n + 1 >= size) {
                out[0] = '\0';   /* the digits written so far have no NUL */
                return -1;
            }
            out[n++] = *p;
        } else if (!strchr(" +-.()", *p)) {
            n = 0;
            break;
        }
    }
    out[n] = '\0';
    return n > 0 ? 0 : -1;
}

/* ---- field helpers ------------------------------------------------------ */

/* Reads the optional email of body (null or blank: absent).  Same returns
 * as kv_read_text; *out owned by the caller. */
static int s_email(json_t *body, kv_need_t need, char **out, json_t *errors)
{
    *out = NULL;
    int rc = kv_read_text(body, "email", need, &crm_rule_email, out, errors);
    if (rc == KV_FIELD_OK && kv_valid_email(*out) != 0) {
        kv_errors_add(errors, "email", "The email must be a valid email address.");
        free(*out);
        *out = NULL;
        return KV_FIELD_BAD;
    }
    return rc;
}

/* ---- create ------------------------------------------------------------ */

int crm_parse_create(json_t *body, crm_create_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    out->segment = "lead";
    out->stage = "new";
    if (kv_read_object(body, errors) != 0)
        return -1;
    int bad = kv_read_known(body, s_create_fields, errors) != 0;
    bad |= kv_read_text(body, "name", KV_REQUIRED, &kv_rule_person_name, &out->name, errors) < 0;
    bad |= kv_read_phone(body, "phone", KV_REQUIRED, out->phone, errors) < 0;
    bad |= s_email(body, KV_OPTIONAL, &out->email, errors) < 0;
    bad |= kv_read_enum(body, "segment", KV_OPTIONAL, crm_segments, &out->segment, errors) < 0;
    bad |= kv_read_enum(body, "pipeline_stage", KV_OPTIONAL, crm_stages, &out->stage,
                        errors) < 0;
    bad |= kv_read_text(body, "notes", KV_OPTIONAL, &kv_rule_notes, &out->notes, errors) < 0;
    int rc = kv_read_text(body, "source", KV_OPTIONAL, &kv_rule_source, &out->source, errors);
    if (rc == KV_FIELD_ABSENT)
        out->source = kv_strdup("api");
    bad |= rc < 0;
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
    if (kv_read_object(body, errors) != 0)
        return -1;
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
    bad |= kv_read_known(rest, s_patch_fields, errors) != 0;
    json_decref(rest);

    int rc = kv_read_enum(body, "segment", KV_NOT_NULL, crm_segments, &out->segment, errors);
    bad |= rc < 0;
    out->set_segment = rc == KV_FIELD_OK;
    rc = kv_read_enum(body, "pipeline_stage", KV_NOT_NULL, crm_stages, &out->stage, errors);
    bad |= rc < 0;
    out->set_stage = rc == KV_FIELD_OK;
    /* notes and email: present means "set", null or "" means "clear" */
    if (json_object_get(body, "notes")) {
        bad |= kv_read_text(body, "notes", KV_OPTIONAL, &kv_rule_notes, &out->notes,
                            errors) < 0;
        out->set_notes = 1;
    }
    if (json_object_get(body, "email")) {
        bad |= s_email(body, KV_OPTIONAL, &out->email, errors) < 0;
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
    if (kv_read_object(body, errors) != 0)
        return -1;
    int bad = kv_read_phone(body, "phone", KV_REQUIRED, phone, errors) < 0;
    int rc = kv_read_text(body, "name", KV_OPTIONAL, &kv_rule_person_name, name, errors);
    bad |= rc < 0;
    if (bad) {
        free(*name);
        *name = NULL;
        return -1;
    }
    if (rc == KV_FIELD_ABSENT)
        *name = kv_strdup(CRM_DEFAULT_NAME);
    return 0;
}

/* ---- list filters ---------------------------------------------------------- */

int crm_parse_filter(json_t *query, crm_filter_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    int bad = kv_query_enum(query, "segment", KV_OPTIONAL, crm_segments, &out->segment,
                            errors) < 0;
    bad |= kv_query_enum(query, "pipeline_stage", KV_OPTIONAL, crm_stages, &out->stage,
                         errors) < 0;
    char *term = NULL;
    int rc = kv_query_text(query, "search", KV_OPTIONAL, &crm_rule_search, &term, errors);
    bad |= rc < 0;
    if (rc == KV_FIELD_OK) {
        out->like = crm_like_escape(term);
        crm_search_digits(term, out->digits, sizeof out->digits);
        free(term);
    }
    return bad ? -1 : 0;
}

void crm_filter_cleanup(crm_filter_t *f)
{
    free(f->like);
    f->like = NULL;
}
