/*
 * fuzz_body_crm.c -- request bodies of the customer resource: any bytes
 * through the gateway's JSON parse and the bus (fuzz_body), then through
 * crm_parse_create (POST /customers), crm_parse_patch (PATCH
 * /customers/{id}) and crm_parse_caller (the bus's customers.find_or_create,
 * which calls sends with the caller's phone and name).
 *
 * Properties: success exactly when no error was added, every error a
 * non-empty list of messages; what a successful parse hands on keeps the
 * documented rules (a trimmed one-line name of 1..200 characters, a phone
 * that normalises to itself, a valid e-mail, a segment and stage of their
 * sets, notes of at most 5000 characters, a token source).
 */
#include "fuzz.h"

#include "kv_valid.h"
#include "../../services/crm/crm_valid.h"

static void s_name(const char *name)
{
    FUZZ_CHECK(name && kv_text_check(name, &kv_rule_person_name) == 0);
    FUZZ_CHECK(name[0] != ' ' && name[strlen(name) - 1] != ' ');
}

static void s_phone(const char *phone)
{
    char again[17];
    FUZZ_CHECK(kv_normalize_phone(phone, again) == 0 && strcmp(again, phone) == 0);
}

static void s_email(const char *email)
{
    FUZZ_CHECK(!email || (kv_valid_email(email) == 0 &&
                          kv_text_check(email, &crm_rule_email) == 0));
}

static void s_notes(const char *notes)
{
    FUZZ_CHECK(!notes || kv_text_check(notes, &kv_rule_notes) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body;
    json_t *bus = fuzz_body(data, size, &body);
    if (!bus)
        return 0;
    json_t *errors = json_object();

    crm_create_t c;
    int rc = crm_parse_create(body, &c, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        s_name(c.name);
        s_phone(c.phone);
        s_email(c.email);
        s_notes(c.notes);
        FUZZ_CHECK(kv_pick(crm_segments, c.segment) && kv_pick(crm_stages, c.stage));
        FUZZ_CHECK(c.source && kv_text_check(c.source, &kv_rule_source) == 0);
    }
    crm_create_cleanup(&c);
    json_object_clear(errors);

    crm_patch_t p;
    rc = crm_parse_patch(body, &p, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        FUZZ_CHECK(p.set_segment || p.set_stage || p.set_notes || p.set_email);
        FUZZ_CHECK(!p.set_segment || kv_pick(crm_segments, p.segment));
        FUZZ_CHECK(!p.set_stage || kv_pick(crm_stages, p.stage));
        FUZZ_CHECK(p.set_notes || !p.notes);
        FUZZ_CHECK(p.set_email || !p.email);
        s_email(p.email);
        s_notes(p.notes);
        FUZZ_CHECK(json_object_get(body, "phone") == NULL);
    }
    crm_patch_cleanup(&p);
    json_object_clear(errors);

    char phone[17];
    char *name = NULL;
    rc = crm_parse_caller(body, phone, &name, errors);
    fuzz_check_errors(errors, rc == 0, 0);
    if (rc == 0) {
        s_phone(phone);
        s_name(name);
    } else {
        FUZZ_CHECK(name == NULL);
    }
    free(name);

    json_decref(errors);
    json_decref(bus);
    return 0;
}
