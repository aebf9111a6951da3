/*
 * calls.c -- the operations of the calls service:
 *   calls.create  POST /api/v1/calls       (extension: the voice agent or
 *                                           telephony bridge logs an ended call)
 *   calls.list    GET  /api/v1/calls       (filters, newest first, no transcript;
 *                                           or a sync page in change order with
 *                                           updated_since / cursor)
 *   calls.get     GET  /api/v1/calls/{id}  (the full record with transcript)
 *
 * Creating a call: validate (call_valid.c); when the body names an
 * external_id already stored in the tenant, answer it with 200 and record
 * nothing.  Otherwise ask crm to find or create the caller (customers.
 * find_or_create; crm unreachable -> 503, nothing recorded), then in ONE
 * transaction insert the call (ON CONFLICT on the external_id: a concurrent
 * duplicate loses cleanly and answers the winner with 200), its turns and
 * the outbox events -- call.ended always, call.missed too when the call
 * lasted under 15 s -- COMMIT, and only then publish them.  The payload of
 * both events is the call object as GET /calls/{id} shows it.
 */
#include "calls.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "call_valid.h"
#include "kv_client.h"
#include "kv_log.h"
#include "kv_outbox.h"
#include "kv_sync.h"

#define CALLS_CRM_TIMEOUT_MS 2000
/* How long calls waits for scheduling (a call's bookings, the stats). */
#define CALLS_BUS_TIMEOUT_MS 2000

/* The full call object (with transcript) of row 0 of call, reading its
 * turns.  NULL on a database error.  Caller owns the result. */
static json_t *s_full_call(kv_ctx_t *ctx, const kv_req_t *req, const PGresult *call)
{
    char tenant_s[KV_DB_I64_LEN];
    const char *params[2] = { kv_db_i64_param(tenant_s, KV_TENANT(req)),
                              kv_db_str(call, 0, CALLS_COL_ID) };
    PGresult *turns = kv_db_exec(ctx->db, KV_RID(req), "calls_turns", 2, params);
    if (!turns)
        return NULL;
    json_t *o = calls_call_json(call, 0);
    json_object_set_new(o, "transcript", calls_transcript_json(turns));
    PQclear(turns);
    return o;
}

/* Answers 200 with the stored call of this tenant whose external_id is
 * ext, when there is one.  Returns 1 when answered (found, or a database
 * failure), 0 when there is no such call. */
static int s_reply_existing(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep,
                            const char *ext)
{
    char tenant_s[KV_DB_I64_LEN];
    const char *params[2] = { kv_db_i64_param(tenant_s, KV_TENANT(req)), ext };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "calls_by_external", 2, params);
    if (!r) {
        kv_reply_db_error(rep, ctx->db);
        return 1;
    }
    int found = PQntuples(r) == 1;
    if (found) {
        json_t *call = s_full_call(ctx, req, r);
        if (call)
            kv_reply_ok(rep, KV_ST_OK, call, NULL);
        else
            kv_reply_db_error(rep, ctx->db);
        kv_info(KV_RID(req), "call %s already logged for this external_id: no new event",
                kv_db_str(r, 0, CALLS_COL_ID));
    }
    PQclear(r);
    return found;
}

/* Asks crm for the customer with in's phone, creating a lead when there is
 * none.  Returns 0 with *customer_id set; otherwise the reply is filled
 * (422 when crm refused the caller's data, 503 when crm is unreachable or
 * failed) and -1 is returned. */
static int s_link_caller(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep,
                         const calls_input_t *in, int64_t *customer_id)
{
    json_t *out = NULL;
    json_t *body = json_object();
    json_object_set_new(body, "phone", json_string(in->caller_phone));
    if (in->caller_name && in->caller_name[0])
        json_object_set_new(body, "name", json_string(in->caller_name));
    int st = kv_client_call(ctx->bus, req->hdr, KV_SVC_CRM, "customers.find_or_create",
                            NULL, body, CALLS_CRM_TIMEOUT_MS, &out);
    json_decref(body);

    int rc = -1;
    json_t *data = json_object_get(out, "data");
    json_t *id = json_object_get(data, "id");
    if ((st == KV_ST_OK || st == KV_ST_CREATED) && json_is_integer(id) &&
        json_integer_value(id) > 0) {
        *customer_id = json_integer_value(id);
        kv_debug(KV_RID(req), "caller linked to customer %" PRId64 " (%s)", *customer_id,
                 st == KV_ST_CREATED ? "new lead" : "existing");
        rc = 0;
    } else if (st == KV_ST_UNPROCESSABLE) {
        /* crm's field names are phone and name: ours are caller_*. */
        json_t *errors = json_object();
        json_t *ce = json_object_get(out, "errors");
        const char *k;
        json_t *msgs;
        json_object_foreach(ce, k, msgs) {
            const char *field = strcmp(k, "phone") == 0 ? "caller_phone"
                              : strcmp(k, "name") == 0 ? "caller_name" : k;
            size_t i;
            json_t *m;
            json_array_foreach(msgs, i, m)
                if (json_is_string(m))
                    kv_errors_add(errors, field, json_string_value(m));
        }
        if (json_object_size(errors) == 0)
            kv_errors_add(errors, "caller_phone", "The caller could not be linked to a customer.");
        kv_reply_invalid(rep, errors);
    } else {
        kv_warn(KV_RID(req), "crm customers.find_or_create answered %d: call not logged", st);
        kv_reply_error(rep, KV_ST_UNAVAILABLE,
                       "The customer service is temporarily unavailable; the call was not logged.",
                       NULL);
    }
    json_decref(out);
    return rc;
}

void calls_create(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    calls_input_t in;
    json_t *errors = json_object();
    json_t *call = NULL;
    char *turns_text = NULL;
    PGresult *row = NULL;
    int in_tx = 0;
    kv_outbox_event_t ev[2];
    int nev = 0;
    memset(ev, 0, sizeof ev);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    if (calls_validate(req->body, now_us, &in, errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    if (in.external_id && s_reply_existing(ctx, req, rep, in.external_id))
        goto out;

    int64_t customer_id = 0;
    if (s_link_caller(ctx, req, rep, &in, &customer_id) != 0)
        goto out;

    char tenant_s[KV_DB_I64_LEN], customer_s[KV_DB_I64_LEN], duration_s[16], quality_s[8];
    kv_db_i64_param(tenant_s, KV_TENANT(req));
    kv_db_i64_param(customer_s, customer_id);
    snprintf(duration_s, sizeof duration_s, "%d", in.duration_seconds);
    snprintf(quality_s, sizeof quality_s, "%d", in.quality_score);
    const char *params[14] = {
        tenant_s, in.external_id, in.caller_phone, in.caller_name, customer_s,
        in.direction, in.started_at, in.ended_at, duration_s, in.outcome,
        in.sentiment, in.has_quality ? quality_s : NULL, in.summary, in.recording_url,
    };

    if (kv_db_begin(ctx->db, KV_RID(req)) != 0) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    in_tx = 1;
    row = kv_db_exec(ctx->db, KV_RID(req), "calls_insert", 14, params);
    if (!row) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    if (PQntuples(row) == 0) {
        /* A concurrent request with the same external_id committed first. */
        kv_db_rollback(ctx->db, KV_RID(req));
        in_tx = 0;
        if (!s_reply_existing(ctx, req, rep, in.external_id))
            kv_reply_internal(rep);
        goto out;
    }
    if (in.transcript && json_array_size(in.transcript) > 0) {
        turns_text = json_dumps(in.transcript, JSON_COMPACT | JSON_REAL_PRECISION(15));
        const char *tparams[3] = { kv_db_str(row, 0, CALLS_COL_ID), tenant_s, turns_text };
        if (!turns_text ||
            kv_db_run(ctx->db, KV_RID(req), "calls_turns_insert", 3, tparams) != 0) {
            kv_reply_db_error(rep, ctx->db);
            goto out;
        }
    }
    call = s_full_call(ctx, req, row);
    if (!call) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    if (kv_outbox_add(ctx, KV_RID(req), KV_TENANT(req), "call.ended", call, &ev[nev]) != 0) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    nev++;
    if (json_is_true(json_object_get(call, "missed"))) {
        if (kv_outbox_add(ctx, KV_RID(req), KV_TENANT(req), "call.missed", call,
                          &ev[nev]) != 0) {
            kv_reply_db_error(rep, ctx->db);
            goto out;
        }
        nev++;
    }
    if (kv_db_commit(ctx->db, KV_RID(req)) != 0) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    in_tx = 0;
    for (int i = 0; i < nev; i++)
        kv_outbox_publish(ctx, &ev[i]);
    kv_info(KV_RID(req), "call %s logged (%d event%s)", kv_db_str(row, 0, CALLS_COL_ID),
            nev, nev == 1 ? "" : "s");
    kv_reply_ok(rep, KV_ST_CREATED, call, NULL);
    call = NULL;
out:
    if (in_tx)
        kv_db_rollback(ctx->db, KV_RID(req));
    for (int i = 0; i < nev; i++)
        kv_outbox_event_clear(&ev[i]);
    calls_input_cleanup(&in);
    free(turns_text);
    PQclear(row);
    json_decref(call);
    json_decref(errors);
}

/* The list's filters: none of them combines with a sync page. */
static const char *const s_list_filters[] = { "sentiment", "missed", "from_date", "to_date",
                                              NULL };

/* One sync page (updated_since / cursor): the tenant's calls in change
 * order, without transcripts, with the sync meta (kv_sync.h). */
static void s_list_sync(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep,
                        const kv_sync_req_t *q)
{
    PGresult *r = NULL;
    json_t *meta = NULL;
    int shown;
    if (kv_sync_fetch(ctx->db, KV_RID(req), "calls_sync_first", "calls_sync_next",
                      KV_SYNC_CALLS, KV_TENANT(req), q, &r, &shown, &meta) != 0) {
        kv_reply_db_error(rep, ctx->db);
        return;
    }
    json_t *data = json_array();
    for (int i = 0; i < shown; i++)
        json_array_append_new(data, calls_call_json(r, i));
    kv_reply_ok(rep, KV_ST_OK, data, meta);
    PQclear(r);
}

void calls_list(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    json_t *list = NULL;
    PGresult *page_r = NULL;
    calls_filter_t f;
    int page, per_page;

    kv_sync_req_t sq;
    int sync = kv_query_sync(req->query, KV_SYNC_CALLS, KV_TENANT(req), s_list_filters, &sq,
                             errors);
    if (sync == KV_FIELD_BAD) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    if (sync == KV_FIELD_OK) {
        s_list_sync(ctx, req, rep, &sq);
        goto out;
    }

    int bad = kv_query_page(req->query, KV_PER_PAGE_DEFAULT, KV_PER_PAGE_MAX,
                            &page, &per_page, errors) != 0;
    bad |= calls_filter_parse(req->query, &f, errors) != 0;
    if (bad) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }

    char tenant_s[KV_DB_I64_LEN], limit_s[KV_DB_I64_LEN], offset_s[KV_DB_I64_LEN];
    kv_db_i64_param(tenant_s, KV_TENANT(req));
    long long offset = kv_page_params(page, per_page, limit_s, offset_s);
    const char *tz = req->hdr->tenant_tz[0] ? req->hdr->tenant_tz : "UTC";
    const char *missed_s = f.missed == 1 ? "true" : "false";

    /* Which statement pair: bit 0 sentiment, bit 1 missed (db.c). */
    int variant = (f.sentiment ? 1 : 0) | (f.missed >= 0 ? 2 : 0);
    const char *filters[2];
    int nf = 0;
    if (f.sentiment)
        filters[nf++] = f.sentiment;
    if (f.missed >= 0)
        filters[nf++] = missed_s;

    const char *from = f.from_date[0] ? f.from_date : NULL;
    const char *to = f.to_date[0] ? f.to_date : NULL;
    const char *cparams[6] = { tenant_s, tz, from, to, NULL, NULL };
    const char *lparams[8] = { tenant_s, tz, from, to, limit_s, offset_s,
                               NULL, NULL };
    for (int i = 0; i < nf; i++) {
        cparams[4 + i] = filters[i];
        lparams[6 + i] = filters[i];
    }
    static const char *const count_names[] = { "calls_count_0", "calls_count_1",
                                               "calls_count_2", "calls_count_3" };
    static const char *const list_names[] = { "calls_list_0", "calls_list_1",
                                              "calls_list_2", "calls_list_3" };

    long long total;
    if (kv_db_page(ctx->db, KV_RID(req), count_names[variant], 4 + nf, cparams,
                   list_names[variant], 6 + nf, lparams, offset, &total, &page_r) != 0) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    list = json_array();
    int n = page_r ? PQntuples(page_r) : 0;
    for (int i = 0; i < n; i++)
        json_array_append_new(list, calls_call_json(page_r, i));
    kv_reply_ok(rep, KV_ST_OK, list, kv_meta_page(page, per_page, total));
    list = NULL;
out:
    PQclear(page_r);
    json_decref(list);
    json_decref(errors);
}

/* Asks scheduling for the ids of the appointments booked during call id
 * (appointments.of_call).  A new array, or NULL when scheduling could not
 * tell (logged). */
static json_t *s_appointment_ids(kv_ctx_t *ctx, const kv_req_t *req, int64_t id)
{
    char cid[KV_DB_I64_LEN];
    json_t *params = json_pack("{ss}", "call_id", kv_db_i64_param(cid, id));
    json_t *out = NULL, *ids = NULL;
    int st = kv_client_call(ctx->bus, req->hdr, KV_SVC_SCHEDULING, "appointments.of_call",
                            params, NULL, CALLS_BUS_TIMEOUT_MS, &out);
    json_decref(params);
    json_t *v = json_object_get(json_object_get(out, "data"), "appointment_ids");
    if (st == KV_ST_OK && json_is_array(v))
        ids = json_incref(v);
    else
        kv_warn(KV_RID(req), "scheduling appointments.of_call answered %d", st);
    json_decref(out);
    return ids;
}

void calls_get(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    PGresult *r = NULL;
    int64_t id = kv_param_id(req, "id");
    if (id <= 0) {
        kv_reply_not_found(rep, "Call");
        goto out;
    }
    char tenant_s[KV_DB_I64_LEN], id_s[KV_DB_I64_LEN];
    const char *params[2] = { kv_db_i64_param(tenant_s, KV_TENANT(req)),
                              kv_db_i64_param(id_s, id) };
    r = kv_db_exec(ctx->db, KV_RID(req), "calls_get", 2, params);
    if (!r) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    if (PQntuples(r) != 1) {
        kv_reply_not_found(rep, "Call");
        goto out;
    }
    json_t *call = s_full_call(ctx, req, r);
    if (!call) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    /* the bookings made during the call are scheduling's: without its
     * answer the show would be wrong, so it is 503 rather than [] */
    json_t *ids = s_appointment_ids(ctx, req, id);
    if (!ids) {
        json_decref(call);
        kv_reply_unavailable(rep);
        goto out;
    }
    json_object_set_new(call, "appointment_ids", ids);
    kv_reply_ok(rep, KV_ST_OK, call, NULL);
out:
    PQclear(r);
}

void calls_lookup(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    int64_t id;
    json_t *errors = json_object();
    if (kv_query_id(req->params, "id", KV_REQUIRED, &id, errors) != KV_FIELD_OK) {
        kv_reply_invalid(rep, errors);
        return;
    }
    json_decref(errors);
    char tenant_s[KV_DB_I64_LEN], id_s[KV_DB_I64_LEN];
    const char *params[2] = { kv_db_i64_param(tenant_s, KV_TENANT(req)),
                              kv_db_i64_param(id_s, id) };
    PGresult *r = kv_db_exec(ctx->db, KV_RID(req), "calls_lookup", 2, params);
    if (!r) {
        kv_reply_db_error(rep, ctx->db);
        return;
    }
    if (PQntuples(r) != 1)
        kv_reply_not_found(rep, "Call");
    else
        kv_reply_ok(rep, KV_ST_OK, json_pack("{sIss}", "id", (json_int_t)kv_db_i64(r, 0, 0),
                                             "started_at", kv_db_str(r, 0, 1)), NULL);
    PQclear(r);
}

void calls_stats(kv_ctx_t *ctx, const kv_req_t *req, kv_rep_t *rep)
{
    json_t *errors = json_object();
    json_t *out = NULL;
    PGresult *r = NULL;
    calls_stats_query_t q;
    if (calls_stats_parse(req->query, &q, errors) != 0) {
        kv_reply_invalid(rep, errors);
        errors = NULL;
        goto out;
    }
    char tenant_s[KV_DB_I64_LEN];
    const char *tz = req->hdr->tenant_tz[0] ? req->hdr->tenant_tz : "UTC";
    const char *params[4] = { kv_db_i64_param(tenant_s, KV_TENANT(req)), tz, q.from_date,
                              q.to_date };
    r = kv_db_exec(ctx->db, KV_RID(req), "calls_stats", 4, params);
    if (!r || PQntuples(r) != 1) {
        kv_reply_db_error(rep, ctx->db);
        goto out;
    }
    /* booked: calls of the range with an appointment, which scheduling
     * counts (it records each linked call's start) */
    json_t *p = json_pack("{ssss}", "from_date", q.from_date, "to_date", q.to_date);
    int st = kv_client_call(ctx->bus, req->hdr, KV_SVC_SCHEDULING, "appointments.booked_calls",
                            p, NULL, CALLS_BUS_TIMEOUT_MS, &out);
    json_decref(p);
    json_t *b = json_object_get(json_object_get(out, "data"), "booked_calls");
    if (st != KV_ST_OK || !json_is_integer(b)) {
        kv_warn(KV_RID(req), "scheduling appointments.booked_calls answered %d", st);
        kv_reply_unavailable(rep);
        goto out;
    }
    long long calls = kv_db_i64(r, 0, 0), answered = kv_db_i64(r, 0, 1);
    long long booked = json_integer_value(b);
    double rate = answered > 0 ? (double)booked / (double)answered : 0.0;
    json_t *o = json_object();
    json_object_set_new(o, "from_date", json_string(q.from_date));
    json_object_set_new(o, "to_date", json_string(q.to_date));
    json_object_set_new(o, "calls", json_integer(calls));
    json_object_set_new(o, "answered", json_integer(answered));
    json_object_set_new(o, "missed", json_integer(kv_db_i64(r, 0, 2)));
    json_object_set_new(o, "booked", json_integer(booked));
    json_object_set_new(o, "conversion_rate", json_real(round(rate * 10000.0) / 10000.0));
    json_object_set_new(o, "average_duration", json_real(strtod(kv_db_str(r, 0, 3), NULL)));
    kv_reply_ok(rep, KV_ST_OK, o, NULL);
out:
    PQclear(r);
    json_decref(out);
    json_decref(errors);
}
