/*
 * crm_valid.h -- the crm service's input rules, as pure functions.
 *
 * Everything a customer request may carry is checked here, before any SQL
 * runs: the create and update bodies, the find-or-create body of the bus,
 * and the list filters.  No I/O, no database: tests/unit/crm/test_crm_valid.c
 * drives these directly.  Each parser collects every problem it finds into
 * an errors object shaped like the API's 422 envelope ({"field": ["msg"]})
 * so that a client learns about all its mistakes in one answer.
 */
#ifndef CRM_VALID_H
#define CRM_VALID_H

#include <stddef.h>
#include <jansson.h>

#include "kv_valid.h"

#define CRM_DEFAULT_NAME "Unknown caller"   /* find_or_create without a name */

/* The allowed values, NULL-terminated, in documentation order. */
extern const char *const crm_segments[];   /* lead, active, inactive, vip */
extern const char *const crm_stages[];     /* new, contacted, qualified, proposal, won, lost */

/* The text rules of crm's own fields (lengths from kv_limits.h).  The name,
 * notes and source use the shared kv_rule_person_name, kv_rule_notes and
 * kv_rule_source of kv_valid.h. */
extern const kv_text_rule_t crm_rule_email;    /* one line, <= 254, trimmed */
extern const kv_text_rule_t crm_rule_search;   /* one line, <= 100, trimmed */

/* s with the LIKE wildcards '%' and '_' and the escape character '\'
 * preceded by '\', so that the result matches s literally inside
 * '%' || pattern || '%'.  Caller owns the result (free()). */
char *crm_like_escape(const char *s);

/* When the search term s looks like (part of) a phone number -- only
 * digits, spaces, '+', '-', '.', '(' and ')', with at least one digit --
 * writes its digits alone into out (size bytes, room for them and a NUL)
 * and returns 0.  Returns -1 otherwise (out[0] = '\0'). */
int crm_search_digits(const char *s, char *out, size_t size);

/* ---- request bodies ------------------------------------------------ */

/* A validated POST /customers body.  Strings are owned by the struct
 * (crm_create_cleanup frees them); segment and stage point at static table
 * entries. */
typedef struct {
    char *name;              /* trimmed, 1..KV_CUSTOMER_NAME_MAX characters */
    char phone[17];          /* normalised: [+]digits */
    char *email;             /* trimmed, valid; NULL: none */
    const char *segment;     /* default "lead" */
    const char *stage;       /* pipeline_stage, default "new" */
    char *notes;             /* NULL: none */
    char *source;            /* default "api" */
} crm_create_t;

/* Validates body (any JSON value, NULL when absent) as a create request.
 * Returns 0 and fills *out when valid; otherwise -1, with one key per bad
 * field added to errors (an object).  *out must be cleaned up either way. */
int crm_parse_create(json_t *body, crm_create_t *out, json_t *errors);
void crm_create_cleanup(crm_create_t *c);

/* A validated PATCH /customers/{id} body: set_x says whether x was given;
 * notes and email NULL with their flag set mean "clear". */
typedef struct {
    int set_segment;
    const char *segment;
    int set_stage;
    const char *stage;
    int set_notes;
    char *notes;
    int set_email;
    char *email;
} crm_patch_t;

/* Validates body as an update: a non-empty object of segment,
 * pipeline_stage, notes, email only ("phone" and unknown fields refused).
 * Same contract as crm_parse_create. */
int crm_parse_patch(json_t *body, crm_patch_t *out, json_t *errors);
void crm_patch_cleanup(crm_patch_t *p);

/* Validates the customers.find_or_create body {"phone", "name"?}: phone is
 * normalised into phone; *name gets the trimmed name, or CRM_DEFAULT_NAME
 * when absent, null or blank (caller owns it: free()).  Unknown fields are
 * ignored (a bus peer may be newer than us).  0 or -1 with errors. */
int crm_parse_caller(json_t *body, char phone[17], char **name, json_t *errors);

/* ---- list filters --------------------------------------------------- */

typedef struct {
    const char *segment;     /* NULL: any */
    const char *stage;       /* NULL: any */
    char *like;              /* escaped search term, NULL: no search */
    char digits[KV_CUSTOMER_SEARCH_MAX + 1];  /* digits of a phone-like term, "" none */
} crm_filter_t;

/* Reads segment, pipeline_stage and search from query (an object of
 * strings).  Empty values mean "no filter"; a search is trimmed and at most
 * KV_CUSTOMER_SEARCH_MAX characters.  Other keys are ignored (pagination is read elsewhere).
 * Same contract as crm_parse_create. */
int crm_parse_filter(json_t *query, crm_filter_t *out, json_t *errors);
void crm_filter_cleanup(crm_filter_t *f);

#endif
