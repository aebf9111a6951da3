/*
 * test_crm_valid.c -- unit tests of services/crm/crm_valid.c: the rules of
 * customer create / update / find-or-create bodies and of the list
 * filters, without a database.  Each check is named after the behaviour it
 * proves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/kvt.h"
#include "../../../services/crm/crm_valid.h"
#include "kv_valid.h"

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

static void test_tables(void)
{
    KVT_OK(kv_pick(crm_segments, "vip") != NULL, "segment vip is allowed");
    KVT_OK(kv_pick(crm_segments, "lead") && kv_pick(crm_segments, "active") &&
           kv_pick(crm_segments, "inactive"), "segments lead, active, inactive are allowed");
    KVT_OK(kv_pick(crm_segments, "VIP") == NULL, "segment match is case-sensitive");
    KVT_OK(kv_pick(crm_segments, "") == NULL, "empty segment is not a segment");
    KVT_OK(kv_pick(crm_segments, NULL) == NULL, "NULL is not a segment");
    const char *stages[] = { "new", "contacted", "qualified", "proposal", "won", "lost", NULL };
    for (int i = 0; stages[i]; i++)
        KVT_OK(kv_pick(crm_stages, stages[i]) != NULL, "pipeline stage %s is allowed", stages[i]);
    KVT_OK(kv_pick(crm_stages, "negotiation") == NULL, "unknown pipeline stage is refused");
    int fit = 1;
    for (int i = 0; crm_segments[i]; i++)
        fit &= strlen(crm_segments[i]) <= KV_ENUM_VALUE_MAX;
    for (int i = 0; crm_stages[i]; i++)
        fit &= strlen(crm_stages[i]) <= KV_ENUM_VALUE_MAX;
    KVT_OK(fit, "every segment and stage fits KV_ENUM_VALUE_MAX (kv_limits.h)");
}

/* The customer's source is the shared token rule (kv_rule_source), the
 * one an appointment's source follows too. */
static void test_source(void)
{
    KVT_OK(kv_text_check("api", &kv_rule_source) == 0, "source api is valid");
    KVT_OK(kv_text_check("walk_in", &kv_rule_source) == 0, "source walk_in is valid");
    KVT_OK(kv_text_check("a2", &kv_rule_source) == 0, "source with a digit after a letter is valid");
    KVT_OK(kv_text_check("abcdefghijklmnopqrstuvwxyz012345", &kv_rule_source) == 0,
           "32-char source is valid");
    KVT_OK(kv_text_check("abcdefghijklmnopqrstuvwxyz0123456", &kv_rule_source) != 0,
           "33-char source is refused");
    const char *bad[] = { "", "Api", "walk-in", "_x", "9lives", "a b", "é", "Web Form!!", NULL };
    for (int i = 0; bad[i]; i++)
        KVT_OK(kv_text_check(bad[i], &kv_rule_source) != 0, "source \"%s\" is refused", bad[i]);
}

static void test_like_escape(void)
{
    char *e = crm_like_escape("50%_off\\now");
    KVT_EQ_STR(e, "50\\%\\_off\\\\now", "like escape prefixes %% _ and backslash with a backslash");
    free(e);
    e = crm_like_escape("plain");
    KVT_EQ_STR(e, "plain", "like escape leaves plain text alone");
    free(e);
    e = crm_like_escape("");
    KVT_EQ_STR(e, "", "like escape of empty is empty");
    free(e);
}

static void test_search_digits(void)
{
    char d[101];
    KVT_OK(crm_search_digits("555 123", d, sizeof d) == 0 && strcmp(d, "555123") == 0,
           "phone-like term with a space gives its digits");
    KVT_OK(crm_search_digits("(555)-123", d, sizeof d) == 0 && strcmp(d, "555123") == 0,
           "phone-like term with brackets and dash gives its digits");
    KVT_OK(crm_search_digits("+1.555", d, sizeof d) == 0 && strcmp(d, "1555") == 0,
           "phone-like term with + and dots gives its digits");
    KVT_OK(crm_search_digits("ann", d, sizeof d) == -1 && d[0] == '\0',
           "a name is not phone-like");
    KVT_OK(crm_search_digits("ann2", d, sizeof d) == -1 && d[0] == '\0',
           "letters with digits are not phone-like");
    KVT_OK(crm_search_digits("--", d, sizeof d) == -1, "punctuation alone is not phone-like");
    char small[4];
    KVT_OK(crm_search_digits("12345", small, sizeof small) == -1,
           "digits that do not fit are refused, not truncated");
    /* fuzz_query found it: the digits that fitted were left without a NUL
     * (tests/fuzz/query/crash-8e91a7e3abc1c5fb76a3aa12707d18f90bae8a1c) */
    memset(small, '7', sizeof small);
    KVT_OK(crm_search_digits("12345", small, sizeof small) == -1 && small[0] == '\0',
           "digits that do not fit leave an empty string, as when not phone-like");
    memset(small, '7', sizeof small);
    KVT_OK(crm_search_digits("123", small, sizeof small) == 0 && strcmp(small, "123") == 0,
           "digits that just fit are written with their NUL");
}

static void test_create_valid(void)
{
    json_t *errors = json_object();
    json_t *b = J("{\"name\":\"  Ann Lee \",\"phone\":\"(555) 123-4567\","
                  "\"email\":\" ann@example.com \",\"segment\":\"vip\",\"source\":\"walk_in\"}");
    crm_create_t c;
    int rc = crm_parse_create(b, &c, errors);
    KVT_EQ_INT(rc, 0, "create accepts a full valid body");
    KVT_EQ_INT(json_object_size(errors), 0, "create of a valid body records no error");
    KVT_EQ_STR(c.name, "Ann Lee", "create trims the name");
    KVT_EQ_STR(c.phone, "5551234567", "create normalises the phone");
    KVT_EQ_STR(c.email, "ann@example.com", "create trims the email");
    KVT_EQ_STR(c.segment, "vip", "create keeps the given segment");
    KVT_EQ_STR(c.source, "walk_in", "create keeps the given source");
    KVT_EQ_STR(c.stage, "new", "create defaults pipeline_stage to new");
    crm_create_cleanup(&c);
    json_decref(b);

    b = J("{\"name\":\"Bo\",\"phone\":\"+44 20 7946 0958\",\"email\":null,\"segment\":null}");
    rc = crm_parse_create(b, &c, errors);
    KVT_EQ_INT(rc, 0, "create accepts a minimal body with nulls for optional fields");
    KVT_EQ_STR(c.segment, "lead", "create defaults segment to lead");
    KVT_EQ_STR(c.source, "api", "create defaults source to api");
    KVT_EQ_STR(c.phone, "+442079460958", "create keeps the leading +");
    KVT_OK(c.email == NULL, "create treats email null as absent");
    KVT_OK(c.notes == NULL, "create without notes has no notes");
    crm_create_cleanup(&c);
    json_decref(b);

    b = J("{\"name\":\"Cy\",\"phone\":\"5551234567\",\"pipeline_stage\":\"won\",\"notes\":\"x\\ny\"}");
    rc = crm_parse_create(b, &c, errors);
    KVT_EQ_INT(rc, 0, "create accepts pipeline_stage and multi-line notes");
    KVT_EQ_STR(c.stage, "won", "create keeps the given pipeline_stage");
    KVT_EQ_STR(c.notes, "x\ny", "create keeps notes verbatim");
    crm_create_cleanup(&c);
    json_decref(b);
    json_decref(errors);
}

/* Runs crm_parse_create on text and checks it fails with a message for
 * field (first message equal to msg when msg is not NULL). */
static void s_create_bad(const char *text, const char *field, const char *msg, const char *what)
{
    json_t *errors = json_object();
    json_t *b = J(text);
    crm_create_t c;
    int rc = crm_parse_create(b, &c, errors);
    KVT_EQ_INT(rc, -1, "create refuses %s", what);
    const char *m = s_err(errors, field);
    if (msg)
        KVT_EQ_STR(m, msg, "create names errors.%s for %s", field, what);
    else
        KVT_OK(m != NULL, "create names errors.%s for %s", field, what);
    crm_create_cleanup(&c);
    json_decref(b);
    json_decref(errors);
}

static void test_create_invalid(void)
{
    s_create_bad("{\"phone\":\"5551234567\"}", "name", "The name field is required.",
                 "a missing name");
    s_create_bad("{\"name\":\"   \",\"phone\":\"5551234567\"}", "name",
                 "The name field is required.", "a blank name");
    s_create_bad("{\"name\":12,\"phone\":\"5551234567\"}", "name", "The name must be a string.",
                 "a numeric name");
    s_create_bad("{\"name\":\"a\\u0001b\",\"phone\":\"5551234567\"}", "name", NULL,
                 "a name with a control character");
    s_create_bad("{\"name\":\"a\\nb\",\"phone\":\"5551234567\"}", "name", NULL,
                 "a name with a newline");
    char big[400];
    memset(big, 'x', 201);
    big[201] = '\0';
    char text[600];
    snprintf(text, sizeof text, "{\"name\":\"%s\",\"phone\":\"5551234567\"}", big);
    s_create_bad(text, "name", "The name may not be greater than 200 characters.",
                 "a 201-character name");
    s_create_bad("{\"name\":\"Ann\"}", "phone", "The phone field is required.", "a missing phone");
    s_create_bad("{\"name\":\"Ann\",\"phone\":\"\"}", "phone", "The phone field is required.",
                 "an empty phone");
    s_create_bad("{\"name\":\"Ann\",\"phone\":5551234567}", "phone", "The phone must be a string.",
                 "a numeric phone");
    s_create_bad("{\"name\":\"Ann\",\"phone\":\"123456\"}", "phone", NULL, "a 6-digit phone");
    s_create_bad("{\"name\":\"Ann\",\"phone\":\"1234567890123456\"}", "phone", NULL,
                 "a 16-digit phone");
    s_create_bad("{\"name\":\"Ann\",\"phone\":\"555-CALL-NOW\"}", "phone", NULL,
                 "a phone with letters");
    s_create_bad("{\"name\":\"Ann\",\"phone\":\"5551234567\",\"email\":\"nope\"}", "email",
                 "The email must be a valid email address.", "an invalid email");
    s_create_bad("{\"name\":\"Ann\",\"phone\":\"5551234567\",\"email\":7}", "email",
                 "The email must be a string.", "a numeric email");
    s_create_bad("{\"name\":\"Ann\",\"phone\":\"5551234567\",\"segment\":\"gold\"}", "segment",
                 NULL, "an unknown segment");
    s_create_bad("{\"name\":\"Ann\",\"phone\":\"5551234567\",\"segment\":1}", "segment",
                 NULL, "a numeric segment");
    s_create_bad("{\"name\":\"Ann\",\"phone\":\"5551234567\",\"pipeline_stage\":\"x\"}",
                 "pipeline_stage", NULL, "an unknown pipeline_stage");
    s_create_bad("{\"name\":\"Ann\",\"phone\":\"5551234567\",\"source\":\"Walk In\"}", "source",
                 NULL, "a source that is not a token");
    s_create_bad("{\"name\":\"Ann\",\"phone\":\"5551234567\",\"vip\":true}", "vip",
                 "The vip field is not allowed.", "an unknown field");
    s_create_bad("[1,2]", "body", "The request body must be a JSON object.", "an array body");
    s_create_bad("\"Ann\"", "body", "The request body must be a JSON object.", "a string body");

    json_t *errors = json_object();
    crm_create_t c;
    KVT_EQ_INT(crm_parse_create(NULL, &c, errors), -1, "create refuses a missing body");
    crm_create_cleanup(&c);
    json_decref(errors);

    errors = json_object();
    json_t *b = J("{\"email\":\"bad\",\"segment\":\"gold\"}");
    crm_parse_create(b, &c, errors);
    KVT_OK(s_err(errors, "name") && s_err(errors, "phone") && s_err(errors, "email") &&
           s_err(errors, "segment"), "create reports every bad field at once");
    crm_create_cleanup(&c);
    json_decref(b);
    json_decref(errors);
}

static void test_patch(void)
{
    json_t *errors = json_object();
    crm_patch_t p;
    json_t *b = J("{\"segment\":\"active\",\"notes\":null,\"email\":\"\"}");
    KVT_EQ_INT(crm_parse_patch(b, &p, errors), 0, "patch accepts segment, notes null, email empty");
    KVT_OK(p.set_segment && strcmp(p.segment, "active") == 0, "patch sets the segment");
    KVT_OK(!p.set_stage, "patch leaves an absent pipeline_stage alone");
    KVT_OK(p.set_notes && p.notes == NULL, "patch notes null clears the notes");
    KVT_OK(p.set_email && p.email == NULL, "patch email empty clears the email");
    crm_patch_cleanup(&p);
    json_decref(b);

    b = J("{\"notes\":\"\"}");
    KVT_EQ_INT(crm_parse_patch(b, &p, errors), 0, "patch accepts empty notes");
    KVT_OK(p.set_notes && p.notes == NULL, "patch notes \"\" clears the notes");
    crm_patch_cleanup(&p);
    json_decref(b);

    b = J("{\"pipeline_stage\":\"qualified\",\"email\":\"a@b.co\",\"notes\":\"hi\"}");
    KVT_EQ_INT(crm_parse_patch(b, &p, errors), 0, "patch accepts pipeline_stage, email, notes");
    KVT_OK(p.set_stage && strcmp(p.stage, "qualified") == 0, "patch sets the pipeline_stage");
    KVT_EQ_STR(p.email, "a@b.co", "patch sets the email");
    KVT_EQ_STR(p.notes, "hi", "patch sets the notes");
    crm_patch_cleanup(&p);
    json_decref(b);
    json_decref(errors);

    struct { const char *body, *field, *msg, *what; } bad[] = {
        { "{\"phone\":\"5551234567\"}", "phone", "Phone cannot be updated via API", "a phone" },
        { "{\"phone\":\"5551234567\",\"segment\":\"vip\"}", "phone",
          "Phone cannot be updated via API", "a phone beside a valid field" },
        { "{\"name\":\"New\"}", "name", "The name field is not allowed.", "a name" },
        { "{\"colour\":\"red\",\"segment\":\"vip\"}", "colour",
          "The colour field is not allowed.", "an unknown field beside a valid one" },
        { "{}", "body", NULL, "an empty object" },
        { "[]", "body", "The request body must be a JSON object.", "an array" },
        { "null", "body", "The request body must be a JSON object.", "a null body" },
        { "{\"segment\":\"gold\"}", "segment", NULL, "an unknown segment" },
        { "{\"segment\":null}", "segment", NULL, "a null segment" },
        { "{\"pipeline_stage\":\"done\"}", "pipeline_stage", NULL, "an unknown pipeline_stage" },
        { "{\"email\":\"x@\"}", "email", "The email must be a valid email address.",
          "an invalid email" },
        { "{\"notes\":5}", "notes", "The notes must be a string.", "numeric notes" },
        { NULL, NULL, NULL, NULL }
    };
    for (int i = 0; bad[i].body; i++) {
        errors = json_object();
        b = J(bad[i].body);
        KVT_EQ_INT(crm_parse_patch(b, &p, errors), -1, "patch refuses %s", bad[i].what);
        if (bad[i].msg)
            KVT_EQ_STR(s_err(errors, bad[i].field), bad[i].msg, "patch names errors.%s for %s",
                       bad[i].field, bad[i].what);
        else
            KVT_OK(s_err(errors, bad[i].field) != NULL, "patch names errors.%s for %s",
                   bad[i].field, bad[i].what);
        crm_patch_cleanup(&p);
        json_decref(b);
        json_decref(errors);
    }
    errors = json_object();
    KVT_EQ_INT(crm_parse_patch(NULL, &p, errors), -1, "patch refuses a missing body");
    crm_patch_cleanup(&p);
    json_decref(errors);

    errors = json_object();
    char notes[5100];
    memset(notes, 'n', 5001);
    notes[5001] = '\0';
    b = json_pack("{s:s}", "notes", notes);
    KVT_EQ_INT(crm_parse_patch(b, &p, errors), -1, "patch refuses 5001-character notes");
    crm_patch_cleanup(&p);
    json_decref(b);
    json_decref(errors);
}

static void test_caller(void)
{
    json_t *errors = json_object();
    char phone[17];
    char *name = NULL;
    json_t *b = J("{\"phone\":\"+1 (555) 000-1111\"}");
    KVT_EQ_INT(crm_parse_caller(b, phone, &name, errors), 0, "caller accepts a phone alone");
    KVT_EQ_STR(phone, "+15550001111", "caller normalises the phone");
    KVT_EQ_STR(name, "Unknown caller", "caller without a name is Unknown caller");
    free(name);
    json_decref(b);

    b = J("{\"phone\":\"5550001111\",\"name\":\" Dee \",\"call_id\":9}");
    KVT_EQ_INT(crm_parse_caller(b, phone, &name, errors), 0,
               "caller accepts a name and ignores unknown fields");
    KVT_EQ_STR(name, "Dee", "caller trims the name");
    free(name);
    json_decref(b);

    b = J("{\"phone\":\"5550001111\",\"name\":\"\"}");
    KVT_EQ_INT(crm_parse_caller(b, phone, &name, errors), 0, "caller accepts an empty name");
    KVT_EQ_STR(name, "Unknown caller", "caller with an empty name is Unknown caller");
    free(name);
    json_decref(b);
    json_decref(errors);

    errors = json_object();
    b = J("{\"phone\":\"12\"}");
    KVT_EQ_INT(crm_parse_caller(b, phone, &name, errors), -1, "caller refuses a short phone");
    KVT_OK(s_err(errors, "phone") && name == NULL, "caller names errors.phone, returns no name");
    json_decref(b);
    json_decref(errors);

    errors = json_object();
    b = J("{\"phone\":\"5550001111\",\"name\":[1]}");
    KVT_EQ_INT(crm_parse_caller(b, phone, &name, errors), -1, "caller refuses a non-string name");
    KVT_OK(name == NULL, "caller returns no name on error");
    json_decref(b);
    json_decref(errors);
}

static void test_filter(void)
{
    json_t *errors = json_object();
    crm_filter_t f;
    json_t *q = J("{\"segment\":\"vip\",\"pipeline_stage\":\"won\",\"search\":\" 50%_off \","
                  "\"page\":\"2\",\"api_key\":\"x\"}");
    KVT_EQ_INT(crm_parse_filter(q, &f, errors), 0, "filter accepts segment, stage and search");
    KVT_EQ_STR(f.segment, "vip", "filter keeps the segment");
    KVT_EQ_STR(f.stage, "won", "filter keeps the stage");
    KVT_EQ_STR(f.like, "50\\%\\_off", "filter trims and escapes the search term");
    KVT_EQ_STR(f.digits, "", "a term with letters has no phone digits");
    crm_filter_cleanup(&f);
    json_decref(q);

    q = J("{\"search\":\"(555)-123\"}");
    KVT_EQ_INT(crm_parse_filter(q, &f, errors), 0, "filter accepts a phone-like search");
    KVT_EQ_STR(f.digits, "555123", "a phone-like search yields its digits");
    KVT_OK(f.segment == NULL && f.stage == NULL, "absent filters are NULL");
    crm_filter_cleanup(&f);
    json_decref(q);

    q = J("{\"segment\":\"\",\"pipeline_stage\":\"\",\"search\":\"   \"}");
    KVT_EQ_INT(crm_parse_filter(q, &f, errors), 0, "empty filters are accepted");
    KVT_OK(f.segment == NULL && f.stage == NULL && f.like == NULL,
           "empty filters mean no filter");
    crm_filter_cleanup(&f);
    json_decref(q);
    KVT_EQ_INT(json_object_size(errors), 0, "valid filters record no error");
    json_decref(errors);

    struct { const char *q, *field, *what; } bad[] = {
        { "{\"segment\":\"gold\"}", "segment", "an unknown segment" },
        { "{\"segment\":\"VIP\"}", "segment", "an upper-case segment" },
        { "{\"pipeline_stage\":\"nope\"}", "pipeline_stage", "an unknown pipeline_stage" },
        { "{\"segment\":3}", "segment", "a non-string segment" },
        { "{\"search\":7}", "search", "a non-string search" },
        { "{\"search\":\"a\\u0007\"}", "search", "a search with a control character" },
        { NULL, NULL, NULL }
    };
    for (int i = 0; bad[i].q; i++) {
        errors = json_object();
        q = J(bad[i].q);
        KVT_EQ_INT(crm_parse_filter(q, &f, errors), -1, "filter refuses %s", bad[i].what);
        KVT_OK(s_err(errors, bad[i].field) != NULL, "filter names errors.%s for %s",
               bad[i].field, bad[i].what);
        crm_filter_cleanup(&f);
        json_decref(q);
        json_decref(errors);
    }
    errors = json_object();
    char term[200];
    memset(term, 'a', 101);
    term[101] = '\0';
    q = json_pack("{s:s}", "search", term);
    KVT_EQ_INT(crm_parse_filter(q, &f, errors), -1, "filter refuses a 101-character search");
    crm_filter_cleanup(&f);
    json_decref(q);
    json_decref(errors);
}

int main(void)
{
    test_tables();
    test_source();
    test_like_escape();
    test_search_digits();
    test_create_valid();
    test_create_invalid();
    test_patch();
    test_caller();
    test_filter();
    return kvt_done();
}
