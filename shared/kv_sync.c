/*
 * kv_sync.c -- updated_since, cursors and the meta of a sync page (see
 * kv_sync.h for the model and docs/architecture.md for why the order is
 * (transaction id, row id)).
 *
 * The cursor is 36 bytes, written as 48 characters of base64url without
 * padding (36 is a multiple of 3, so every character carries 6 bits and
 * no spare bits could be flipped unnoticed):
 *
 *   0      version (1)
 *   1      list (kv_sync_list_t)
 *   2      flags: bit 0 = the walk has an updated_since
 *   3      0
 *   4..11  sync_xid of the position, big-endian
 *   12..19 row id of the position, big-endian
 *   20..27 updated_since in Unix epoch microseconds, big-endian two's
 *          complement (0 without; within what kv_sync_parse_time gives)
 *   28..35 the first 8 bytes of SHA-256("kaivox.sync.v1", tenant id as 8
 *          big-endian bytes, bytes 0..27)
 *
 * The digest is not a secret MAC: it detects a garbled or edited cursor
 * and one made for another list or tenant, and makes such a cursor a 422
 * instead of a silent walk from somewhere else.  Someone who recomputes it
 * can only choose another position in their own tenant's list, which every
 * query scopes by tenant anyway: a cursor never reaches another tenant's
 * rows.  Clients must treat cursors as opaque; the layout may change with
 * the version byte.
 */
#include "kv_sync.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "kv_api.h"
#include "kv_crypto.h"
#include "kv_limits.h"
#include "kv_log.h"
#include "kv_valid.h"

#define S_US_PER_SEC 1000000LL
#define S_VERSION 1
#define S_FLAG_SINCE 0x01
#define S_RAW_LEN 36
#define S_BODY_LEN 28
#define S_DIGEST_LEN 8
#define S_DIGEST_TAG "kaivox.sync.v1"
#define S_XID_MAX ((uint64_t)INT64_MAX)

/* ---- cursor --------------------------------------------------------------- */

static const char s_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of base64url character c, or -1. */
static int s_b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

static void s_put64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t s_get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The digest of body (S_BODY_LEN bytes) for tenant into out. */
static void s_digest(int64_t tenant, const unsigned char *body, unsigned char out[S_DIGEST_LEN])
{
    unsigned char msg[sizeof S_DIGEST_TAG - 1 + 8 + S_BODY_LEN];
    unsigned char md[KV_SHA256_LEN];
    memcpy(msg, S_DIGEST_TAG, sizeof S_DIGEST_TAG - 1);
    s_put64(msg + sizeof S_DIGEST_TAG - 1, (uint64_t)tenant);
    memcpy(msg + sizeof S_DIGEST_TAG - 1 + 8, body, S_BODY_LEN);
    kv_sha256(msg, sizeof msg, md);
    memcpy(out, md, S_DIGEST_LEN);
}

void kv_sync_cursor_encode(kv_sync_list_t list, int64_t tenant, const kv_sync_state_t *st,
                           char out[KV_SYNC_CURSOR_CHARS + 1])
{
    assert(st->pos.xid <= S_XID_MAX && st->pos.id >= 0);
    unsigned char raw[S_RAW_LEN];
    memset(raw, 0, sizeof raw);
    raw[0] = S_VERSION;
    raw[1] = (unsigned char)list;
    raw[2] = st->has_since ? S_FLAG_SINCE : 0;
    s_put64(raw + 4, st->pos.xid);
    s_put64(raw + 12, (uint64_t)st->pos.id);
    s_put64(raw + 20, st->has_since ? (uint64_t)st->since_us : 0);
    s_digest(tenant, raw, raw + S_BODY_LEN);
    char *o = out;
    for (int i = 0; i < S_RAW_LEN; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        *o++ = s_b64[(v >> 18) & 63];
        *o++ = s_b64[(v >> 12) & 63];
        *o++ = s_b64[(v >> 6) & 63];
        *o++ = s_b64[v & 63];
    }
    *o = '\0';
}

/* Whether us is an instant kv_sync_parse_time can give: from
 * 1900-01-01T00:00:00+23:59 to 9999-12-31T23:59:59.999999-23:59. */
static int s_since_in_range(int64_t us)
{
    const kv_date_t first = { 1900, 1, 1 }, last = { 9999, 12, 31 };
    const int64_t max_off = 23 * 3600 + 59 * 60;
    int64_t lo = (kv_date_to_days(&first) * 86400 - max_off) * S_US_PER_SEC;
    int64_t hi = (kv_date_to_days(&last) * 86400 + 86399 + max_off) * S_US_PER_SEC + 999999;
    return us >= lo && us <= hi;
}

int kv_sync_cursor_decode(kv_sync_list_t list, int64_t tenant, const char *s,
                          kv_sync_state_t *st)
{
    if (!s || strlen(s) != KV_SYNC_CURSOR_CHARS)
        return -1;
    unsigned char raw[S_RAW_LEN];
    for (int i = 0, j = 0; i < KV_SYNC_CURSOR_CHARS; i += 4, j += 3) {
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) {
            int c = s_b64_value(s[i + k]);
            if (c < 0)
                return -1;
            v = v << 6 | (uint32_t)c;
        }
        raw[j] = (unsigned char)(v >> 16);
        raw[j + 1] = (unsigned char)(v >> 8);
        raw[j + 2] = (unsigned char)v;
    }
    unsigned char want[S_DIGEST_LEN];
    s_digest(tenant, raw, want);
    /* Not a secret: a plain comparison is fine (see the file header). */
    if (memcmp(want, raw + S_BODY_LEN, S_DIGEST_LEN) != 0)
        return -1;
    if (raw[0] != S_VERSION || raw[1] != (unsigned char)list || (raw[2] & ~S_FLAG_SINCE) ||
        raw[3] != 0)
        return -1;
    uint64_t xid = s_get64(raw + 4), id = s_get64(raw + 12), since = s_get64(raw + 20);
    if (xid > S_XID_MAX || id > (uint64_t)INT64_MAX)
        return -1;
    int has_since = raw[2] & S_FLAG_SINCE;
    if (has_since ? !s_since_in_range((int64_t)since) : since != 0)
        return -1;
    st->pos.xid = xid;
    st->pos.id = (int64_t)id;
    st->has_since = has_since;
    st->since_us = has_since ? (int64_t)since : 0;
    return 0;
}

int kv_sync_pos_parse(const char *xid_text, int64_t id, kv_sync_pos_t *pos)
{
    if (!xid_text || xid_text[0] < '0' || xid_text[0] > '9' || id < 0)
        return -1;
    int64_t x;
    if (kv_parse_i64(xid_text, &x) != 0 || x < 0)
        return -1;
    pos->xid = (uint64_t)x;
    pos->id = id;
    return 0;
}

/* ---- the query ------------------------------------------------------------ */

#define S_MSG_SINCE "The updated_since must be an RFC 3339 date-time with a UTC offset " \
                    "(e.g. 2026-03-10T14:05:00Z or 2026-03-10T14:05:00+01:00)."
#define S_MSG_CURSOR "The cursor is invalid: pass meta.next_cursor or meta.resume_cursor " \
                     "of this list exactly as received."
#define S_MSG_BOTH "The updated_since cannot be combined with cursor: the cursor carries " \
                   "the updated_since its walk started with."
#define S_MSG_PAGE "The page cannot be combined with updated_since or cursor: follow " \
                   "meta.next_cursor."

/* Reads updated_since (a non-empty value v) into *us.  An unencoded '+' in
 * a query string arrives as a space: one space where the offset's sign
 * belongs is read as '+'.  0 or -1. */
static int s_since(const json_t *v, int64_t *us)
{
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    size_t len = strlen(s);
    char buf[64];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, s, len + 1);
    if (len > 6 && buf[len - 6] == ' ' && buf[len - 3] == ':')
        buf[len - 6] = '+';
    return kv_parse_rfc3339(buf, us);
}

int kv_query_sync(json_t *query, kv_sync_list_t list, int64_t tenant,
                  const char *const *filters, kv_sync_req_t *out, json_t *errors)
{
    memset(out, 0, sizeof *out);
    out->per_page = KV_PER_PAGE_DEFAULT;
    json_t *since_v = kv_query_value(query, "updated_since");
    json_t *cursor_v = kv_query_value(query, "cursor");
    if (!since_v && !cursor_v)
        return KV_FIELD_ABSENT;

    int bad = 0;
    if (cursor_v) {
        if (!json_is_string(cursor_v) ||
            kv_sync_cursor_decode(list, tenant, json_string_value(cursor_v), &out->st) != 0) {
            kv_errors_add(errors, "cursor", S_MSG_CURSOR);
            bad = 1;
        }
        if (since_v) {
            kv_errors_add(errors, "updated_since", S_MSG_BOTH);
            bad = 1;
        }
    } else if (s_since(since_v, &out->st.since_us) == 0) {
        out->st.has_since = 1;
    } else {
        kv_errors_add(errors, "updated_since", S_MSG_SINCE);
        bad = 1;
    }

    /* page: refused whenever written, even empty (a plain list refuses an
     * empty page too) */
    if (json_object_get(query, "page")) {
        kv_errors_add(errors, "page", S_MSG_PAGE);
        bad = 1;
    }
    for (size_t i = 0; filters && filters[i]; i++) {
        if (kv_query_value(query, filters[i])) {
            char msg[128];
            snprintf(msg, sizeof msg, "The %s filter cannot be combined with updated_since "
                     "or cursor.", filters[i]);
            kv_errors_add(errors, filters[i], msg);
            bad = 1;
        }
    }
    /* per_page by the plain list's rules (kv_query_page), page left out */
    json_t *rest = json_object();
    json_t *pp = json_object_get(query, "per_page");
    if (pp)
        json_object_set(rest, "per_page", pp);
    int page;
    if (kv_query_page(rest, KV_PER_PAGE_DEFAULT, KV_PER_PAGE_MAX, &page, &out->per_page,
                      errors) != 0)
        bad = 1;
    json_decref(rest);
    if (bad)
        return KV_FIELD_BAD;

    out->first = out->st.has_since && out->st.pos.xid == 0 && out->st.pos.id == 0;
    if (out->st.has_since)
        kv_format_rfc3339(out->st.since_us, out->since);
    return KV_FIELD_OK;
}

/* ---- the page's end and meta ---------------------------------------------- */

kv_sync_state_t kv_sync_page_end(const kv_sync_req_t *q, int rows, kv_sync_pos_t last,
                                 int *more)
{
    kv_sync_state_t end = q->st;
    *more = rows > q->per_page;
    if (rows > 0)
        end.pos = last;
    return end;
}

json_t *kv_sync_meta(const kv_sync_req_t *q, kv_sync_list_t list, int64_t tenant,
                     const kv_sync_state_t *end, int more)
{
    char cursor[KV_SYNC_CURSOR_CHARS + 1];
    kv_sync_cursor_encode(list, tenant, end, cursor);
    json_t *m = json_object();
    json_object_set_new(m, "per_page", json_integer(q->per_page));
    json_object_set_new(m, "next_cursor", more ? json_string(cursor) : json_null());
    json_object_set_new(m, "resume_cursor", json_string(cursor));
    return m;
}

/* ---- running a page ----------------------------------------------------------- */

int kv_sync_fetch(kv_db_t *db, const char *req_id, const char *first_stmt,
                  const char *next_stmt, kv_sync_list_t list, int64_t tenant,
                  const kv_sync_req_t *q, PGresult **rows, int *shown, json_t **meta)
{
    *rows = NULL;
    *meta = NULL;
    *shown = 0;
    char tid[KV_DB_I64_LEN], xid[KV_DB_I64_LEN], id[KV_DB_I64_LEN], lim[KV_DB_I64_LEN];
    kv_db_i64_param(tid, tenant);
    kv_db_i64_param(lim, (long long)q->per_page + 1);
    const char *since = q->st.has_since ? q->since : NULL;
    PGresult *r;
    if (q->first) {
        const char *p[3] = { tid, since, lim };
        r = kv_db_exec(db, req_id, first_stmt, 3, p);
    } else {
        kv_db_i64_param(xid, (long long)q->st.pos.xid);
        kv_db_i64_param(id, q->st.pos.id);
        const char *p[5] = { tid, xid, id, since, lim };
        r = kv_db_exec(db, req_id, next_stmt, 5, p);
    }
    if (!r)
        return -1;
    int n = PQntuples(r);
    *shown = n < q->per_page ? n : q->per_page;
    kv_sync_pos_t last = q->st.pos;
    if (*shown > 0) {
        int cx = PQfnumber(r, "kv_sync_xid"), ci = PQfnumber(r, "kv_sync_id");
        const char *id_text = ci >= 0 ? kv_db_str(r, *shown - 1, ci) : NULL;
        int64_t row_id;
        if (cx < 0 || !id_text || kv_parse_i64(id_text, &row_id) != 0 ||
            kv_sync_pos_parse(kv_db_str(r, *shown - 1, cx), row_id, &last) != 0) {
            kv_error(req_id, "%s: a row without a valid sync position",
                     q->first ? first_stmt : next_stmt);
            PQclear(r);
            *shown = 0;
            return -1;
        }
    }
    int more;
    kv_sync_state_t end = kv_sync_page_end(q, n, last, &more);
    *meta = kv_sync_meta(q, list, tenant, &end, more);
    *rows = r;
    return 0;
}
