/*
 * kv_bus.c -- framing and header rules of the bus protocol (proto/bus.md).
 *
 * Everything that decides whether a message is well formed lives here, so
 * the broker, the workers and the clients reject the same things the same
 * way, and tests/unit/shared/test_bus.c can prove it without sockets.
 */
#include <string.h>
#include <stdlib.h>
#include <stdio.h>

#include "kv_bus.h"
#include "kv_crypto.h"
#include "kv_mem.h"
#include "kv_json.h"

static int s_tag_ok(const kv_msg_t *m)
{
    size_t len;
    const char *tag = kv_msg_data(m, 0, &len);
    return tag && len == KV_PROTO_TAG_LEN && memcmp(tag, KV_PROTO_TAG, len) == 0;
}

/* A service name: 1..KV_SERVICE_NAME_MAX of [a-z0-9_-]. */
static int s_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > KV_SERVICE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int kv_bus_valid_id(const char *s, size_t len)
{
    if (!s || len == 0 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int kv_bus_valid_idem_key(const char *s, size_t len)
{
    if (!s || len == 0 || len > KV_IDEM_KEY_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e)
            return 0;
    }
    return 1;
}

int kv_bus_parse(const kv_msg_t *m, kv_bus_side_t side, kv_bus_frame_t *out)
{
    memset(out, 0, sizeof *out);
    size_t n = kv_msg_size(m);
    if (n < 2)
        return n == 0 ? KV_BUS_EFRAMES : (s_tag_ok(m) ? KV_BUS_EFRAMES : KV_BUS_ETAG);
    if (!s_tag_ok(m))
        return KV_BUS_ETAG;
    size_t len;
    const char *cmd = kv_msg_data(m, 1, &len);
    if (len != 1)
        return KV_BUS_ECMD;
    out->cmd = (unsigned char)cmd[0];

    switch (out->cmd) {
    case KV_CMD_HEARTBEAT:
    case KV_CMD_DISCONNECT:
        return n == 2 ? KV_BUS_OK : KV_BUS_EFRAMES;
    case KV_CMD_WITHDRAW:
        if (side == KV_BUS_AT_CLIENT)
            return KV_BUS_ECMD;
        return n == 2 ? KV_BUS_OK : KV_BUS_EFRAMES;
    case KV_CMD_READY:
        if (side != KV_BUS_AT_BROKER_FROM_CLIENT && side != KV_BUS_AT_BROKER_FROM_WORKER)
            return KV_BUS_ECMD;
        if (n != 3 && n != 4)
            return KV_BUS_EFRAMES;
        out->service = kv_msg_data(m, 2, &len);
        if (!s_name_ok(out->service, len))
            return KV_BUS_EFIELD;
        if (n == 4) {
            out->info = kv_msg_data(m, 3, &out->info_len);
            if (out->info_len == 0 || out->info_len > KV_READY_INFO_MAX)
                return KV_BUS_EFIELD;
        }
        return KV_BUS_OK;
    case KV_CMD_REQUEST:
    case KV_CMD_REPLY:
        break;
    default:
        return KV_BUS_ECMD;
    }

    /* REQUEST and REPLY: [tag][cmd][route][header][body]. */
    if (n != 5)
        return KV_BUS_EFRAMES;
    int route_is_service;
    if (out->cmd == KV_CMD_REQUEST)
        route_is_service = (side == KV_BUS_AT_BROKER_FROM_CLIENT);
    else
        route_is_service = (side == KV_BUS_AT_CLIENT);
    if (out->cmd == KV_CMD_REQUEST && (side == KV_BUS_AT_CLIENT || side == KV_BUS_AT_BROKER_FROM_WORKER))
        return KV_BUS_ECMD;
    if (out->cmd == KV_CMD_REPLY && side == KV_BUS_AT_WORKER)
        return KV_BUS_ECMD;

    const char *route = kv_msg_data(m, 2, &len);
    if (route_is_service) {
        if (!s_name_ok(route, len))
            return KV_BUS_EFIELD;
        out->service = route;
    } else {
        if (len == 0 || len > KV_RETADDR_MAX)
            return KV_BUS_EFIELD;
        out->retaddr = route;
        out->retaddr_len = len;
    }
    out->header = kv_msg_data(m, 3, &out->header_len);
    if (out->header_len == 0 || out->header_len > KV_HEADER_MAX)
        return KV_BUS_EFIELD;
    out->body = kv_msg_data(m, 4, &out->body_len);
    if (out->body_len > KV_BODY_MAX)
        return KV_BUS_EFIELD;
    return KV_BUS_OK;
}

static kv_msg_t *s_command(int cmd)
{
    kv_msg_t *m = kv_msg_new();
    unsigned char c = (unsigned char)cmd;
    kv_msg_add(m, KV_PROTO_TAG, KV_PROTO_TAG_LEN);
    kv_msg_add(m, &c, 1);
    return m;
}

kv_msg_t *kv_bus_ready(const char *service)
{
    return kv_bus_ready_info(service, NULL);
}

kv_msg_t *kv_bus_ready_info(const char *service, const char *info)
{
    kv_msg_t *m = s_command(KV_CMD_READY);
    kv_msg_addstr(m, service);
    if (info)
        kv_msg_addstr(m, info);
    return m;
}

kv_msg_t *kv_bus_withdraw(void)
{
    return s_command(KV_CMD_WITHDRAW);
}

kv_msg_t *kv_bus_heartbeat(void)
{
    return s_command(KV_CMD_HEARTBEAT);
}

kv_msg_t *kv_bus_disconnect(void)
{
    return s_command(KV_CMD_DISCONNECT);
}

kv_msg_t *kv_bus_envelope(int cmd, const void *route, size_t route_len,
                          const char *header, size_t header_len,
                          const char *body, size_t body_len)
{
    kv_msg_t *m = s_command(cmd);
    kv_msg_add(m, route, route_len);
    kv_msg_add(m, header, header_len);
    kv_msg_add(m, body ? body : "", body ? body_len : 0);
    return m;
}

char *kv_hdr_encode(const kv_hdr_t *h, int is_reply)
{
    json_t *o = json_object();
    json_object_set_new(o, "v", json_integer(h->v ? h->v : KV_PROTO_VERSION));
    json_object_set_new(o, "id", json_string(h->id));
    if (h->cid[0])
        json_object_set_new(o, "cid", json_string(h->cid));
    if (is_reply) {
        json_object_set_new(o, "status", json_integer(h->status));
        if (h->unserved)
            json_object_set_new(o, "unserved", json_true());
        if (h->replayed)
            json_object_set_new(o, "replayed", json_true());
    } else {
        if (h->idem_key[0])
            json_object_set_new(o, "idempotency_key", json_string(h->idem_key));
        json_object_set_new(o, "op", json_string(h->op));
        if (h->tenant_id > 0) {
            json_t *t = json_object();
            json_object_set_new(t, "id", json_integer(h->tenant_id));
            json_object_set_new(t, "tz", json_string(h->tenant_tz[0] ? h->tenant_tz : "UTC"));
            json_object_set_new(t, "slot_interval", json_integer(h->slot_interval));
            json_object_set_new(o, "tenant", t);
        }
        json_object_set_new(o, "deadline", json_integer(h->deadline_ms));
        if (h->traceparent[0]) {
            json_object_set_new(o, "traceparent", json_string(h->traceparent));
            if (h->tracestate[0])
                json_object_set_new(o, "tracestate", json_string(h->tracestate));
        }
    }
    char *s = kv_json_dump(o, JSON_COMPACT, NULL);
    json_decref(o);
    if (!s)
        abort();    /* only on out of memory */
    return s;
}

/* Copies a JSON string member into dst[cap] when it fits and passes ok(). */
static int s_copy_str(json_t *o, const char *key, char *dst, size_t cap,
                      int (*ok)(const char *, size_t), int required)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return required ? -1 : 0;
    if (!json_is_string(v))
        return -1;
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len >= cap || strlen(s) != len || (ok && !ok(s, len)))
        return -1;
    memcpy(dst, s, len + 1);
    return 0;
}

static int s_op_ok(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'))
            return 0;
    }
    return 1;
}

static int s_tz_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return 0;
    }
    return len > 0;
}

/* Parses a header or event header text into *o (set even on failure,
 * possibly NULL; the caller decrefs it) and checks its protocol version.
 * KV_BUS_OK, KV_BUS_EHEADER (not an object, no integer "v") or
 * KV_BUS_EVERSION. */
static int s_load_hdr(const char *text, size_t len, json_t **o)
{
    *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(*o))
        return KV_BUS_EHEADER;
    json_t *v = json_object_get(*o, "v");
    if (!json_is_integer(v))
        return KV_BUS_EHEADER;
    return json_integer_value(v) == KV_PROTO_VERSION ? KV_BUS_OK : KV_BUS_EVERSION;
}

int kv_hdr_decode(const char *text, size_t len, int is_reply, kv_hdr_t *h)
{
    memset(h, 0, sizeof *h);
    json_t *o;
    int rc = s_load_hdr(text, len, &o);
    if (rc == KV_BUS_EVERSION) { /* keep id and cid so the error reply can carry them */
        s_copy_str(o, "id", h->id, sizeof h->id, kv_bus_valid_id, 1);
        if (s_copy_str(o, "cid", h->cid, sizeof h->cid, kv_bus_valid_id, 0) < 0)
            h->cid[0] = '\0';
    }
    if (rc != KV_BUS_OK)
        goto out;
    rc = KV_BUS_EHEADER;
    h->v = KV_PROTO_VERSION;
    if (s_copy_str(o, "id", h->id, sizeof h->id, kv_bus_valid_id, 1) < 0 ||
        s_copy_str(o, "cid", h->cid, sizeof h->cid, kv_bus_valid_id, 0) < 0)
        goto out;
    if (is_reply) {
        json_t *st = json_object_get(o, "status");
        if (!json_is_integer(st) || json_integer_value(st) < 100 || json_integer_value(st) > 599)
            goto out;
        h->status = (int)json_integer_value(st);
        json_t *un = json_object_get(o, "unserved");
        if (un && !json_is_boolean(un))
            goto out;
        h->unserved = json_is_true(un) && h->status == KV_ST_UNAVAILABLE;
        json_t *rp = json_object_get(o, "replayed");
        if (rp && !json_is_boolean(rp))
            goto out;
        h->replayed = json_is_true(rp);
    } else {
        if (s_copy_str(o, "op", h->op, sizeof h->op, s_op_ok, 1) < 0 ||
            s_copy_str(o, "idempotency_key", h->idem_key, sizeof h->idem_key,
                       kv_bus_valid_idem_key, 0) < 0)
            goto out;
        json_t *t = json_object_get(o, "tenant");
        if (t && !json_is_null(t)) {
            if (!json_is_object(t))
                goto out;
            json_t *id = json_object_get(t, "id");
            if (!json_is_integer(id) || json_integer_value(id) <= 0)
                goto out;
            h->tenant_id = json_integer_value(id);
            if (s_copy_str(t, "tz", h->tenant_tz, sizeof h->tenant_tz, s_tz_ok, 0) < 0)
                goto out;
            if (!h->tenant_tz[0])
                strcpy(h->tenant_tz, "UTC");
            json_t *si = json_object_get(t, "slot_interval");
            if (si) {
                if (!json_is_integer(si) || json_integer_value(si) < 0 || json_integer_value(si) > 1440)
                    goto out;
                h->slot_interval = (int)json_integer_value(si);
            }
        }
        json_t *d = json_object_get(o, "deadline");
        if (d) {
            if (!json_is_integer(d) || json_integer_value(d) < 0)
                goto out;
            h->deadline_ms = json_integer_value(d);
        }
        /* optional trace context: an invalid one is dropped, not an error
         * (the worker then starts a trace of its own) */
        kv_trace_t tr;
        json_t *tp = json_object_get(o, "traceparent");
        json_t *ts = json_object_get(o, "tracestate");
        if (json_is_string(tp) && json_string_length(tp) == KV_TRACEPARENT_LEN &&
            kv_traceparent_parse(json_string_value(tp), KV_TRACEPARENT_LEN, &tr) == 0) {
            memcpy(h->traceparent, json_string_value(tp), KV_TRACEPARENT_LEN + 1);
            if (json_is_string(ts) && json_string_length(ts) <= KV_TRACESTATE_MAX &&
                strlen(json_string_value(ts)) == json_string_length(ts) &&
                kv_tracestate_valid(json_string_value(ts), json_string_length(ts)))
                memcpy(h->tracestate, json_string_value(ts), json_string_length(ts) + 1);
        }
    }
    rc = KV_BUS_OK;
out:
    json_decref(o);
    return rc;
}

void kv_bus_new_id(char buf[33])
{
    unsigned char raw[16];
    if (kv_random_bytes(raw, sizeof raw) != 0) {
        /* fall back to something unique enough for correlation */
        static unsigned long long n;
        snprintf(buf, 33, "%016llx%016llx", (unsigned long long)(uintptr_t)&n, __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED));
        return;
    }
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        buf[2 * i] = hex[raw[i] >> 4];
        buf[2 * i + 1] = hex[raw[i] & 15];
    }
    buf[32] = '\0';
}

kv_msg_t *kv_event_msg(const kv_event_hdr_t *h, const char *payload, size_t len)
{
    json_t *o = json_object();
    json_object_set_new(o, "v", json_integer(KV_PROTO_VERSION));
    json_object_set_new(o, "producer", json_string(h->producer));
    json_object_set_new(o, "seq", json_integer(h->seq));
    json_object_set_new(o, "type", json_string(h->type));
    json_object_set_new(o, "id", json_string(h->id));
    json_object_set_new(o, "tenant_id", json_integer(h->tenant_id));
    json_object_set_new(o, "created_at", json_string(h->created_at));
    if (h->traceparent[0])
        json_object_set_new(o, "traceparent", json_string(h->traceparent));
    char *hdr = kv_json_dump(o, JSON_COMPACT, NULL);
    json_decref(o);
    if (!hdr)
        abort();
    kv_msg_t *m = kv_msg_new();
    kv_msg_addstr(m, h->producer);
    kv_msg_addstr(m, hdr);
    kv_msg_add(m, payload, len);
    free(hdr);
    return m;
}

static int s_text_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20)
            return 0;
    return 1;
}

int kv_event_parse(const kv_msg_t *m, kv_event_hdr_t *h, const char **payload, size_t *payload_len)
{
    memset(h, 0, sizeof *h);
    if (kv_msg_size(m) != KV_EVENT_FRAMES)
        return KV_BUS_EFRAMES;
    size_t tlen, hlen;
    const char *topic = kv_msg_data(m, 0, &tlen);
    const char *text = kv_msg_data(m, 1, &hlen);
    if (!s_name_ok(topic, tlen))
        return KV_BUS_EFIELD;
    json_t *o;
    int rc = s_load_hdr(text, hlen, &o);
    if (rc != KV_BUS_OK)
        goto out;
    rc = KV_BUS_EHEADER;
    if (s_copy_str(o, "producer", h->producer, sizeof h->producer, s_name_ok, 1) < 0 ||
        strlen(h->producer) != tlen || memcmp(h->producer, topic, tlen) != 0)
        goto out;
    if (s_copy_str(o, "type", h->type, sizeof h->type, s_op_ok, 1) < 0 ||
        s_copy_str(o, "id", h->id, sizeof h->id, kv_bus_valid_id, 1) < 0 ||
        s_copy_str(o, "created_at", h->created_at, sizeof h->created_at, s_text_ok, 1) < 0)
        goto out;
    json_t *seq = json_object_get(o, "seq"), *tid = json_object_get(o, "tenant_id");
    if (!json_is_integer(seq) || json_integer_value(seq) <= 0 ||
        !json_is_integer(tid) || json_integer_value(tid) <= 0)
        goto out;
    h->seq = json_integer_value(seq);
    h->tenant_id = json_integer_value(tid);
    /* optional; an invalid one is dropped, never an error */
    json_t *tp = json_object_get(o, "traceparent");
    kv_trace_t tr;
    if (json_is_string(tp) && json_string_length(tp) == KV_TRACEPARENT_LEN &&
        kv_traceparent_parse(json_string_value(tp), KV_TRACEPARENT_LEN, &tr) == 0)
        memcpy(h->traceparent, json_string_value(tp), KV_TRACEPARENT_LEN + 1);
    *payload = kv_msg_data(m, 2, payload_len);
    rc = KV_BUS_OK;
out:
    json_decref(o);
    return rc;
}

/* ---- READY's JSON frame ------------------------------------------------ */

char *kv_ready_info_encode(const kv_ready_info_t *ri)
{
    json_t *o = json_object();
    json_object_set_new(o, "v", json_integer(ri->v ? ri->v : KV_PROTO_VERSION));
    json_object_set_new(o, "instance", json_string(ri->instance));
    json_object_set_new(o, "workers", json_integer(ri->workers));
    json_t *ops = json_array(), *ro = json_array();
    for (int i = 0; i < ri->nops; i++) {
        json_array_append_new(ops, json_string(ri->ops[i]));
        if (ri->read_only[i])
            json_array_append_new(ro, json_string(ri->ops[i]));
    }
    json_object_set_new(o, "ops", ops);
    json_object_set_new(o, "read_only", ro);
    char *s = kv_json_dump(o, JSON_COMPACT, NULL);
    json_decref(o);
    if (!s)
        abort();    /* only on out of memory */
    return s;
}

/* Index of name in ri->ops, -1 when absent. */
static int s_info_op(const kv_ready_info_t *ri, const char *name)
{
    for (int i = 0; i < ri->nops; i++)
        if (strcmp(ri->ops[i], name) == 0)
            return i;
    return -1;
}

int kv_ready_info_decode(const char *text, size_t len, kv_ready_info_t *ri)
{
    memset(ri, 0, sizeof *ri);
    json_t *o;
    int rc = s_load_hdr(text, len, &o);
    if (json_is_integer(json_object_get(o, "v")))
        ri->v = (int)json_integer_value(json_object_get(o, "v"));
    if (rc != KV_BUS_OK)
        goto out;
    rc = KV_BUS_EHEADER;
    if (s_copy_str(o, "instance", ri->instance, sizeof ri->instance, kv_bus_valid_id, 1) < 0)
        goto out;
    json_t *w = json_object_get(o, "workers");
    if (!json_is_integer(w) || json_integer_value(w) < 1 ||
        json_integer_value(w) > KV_INSTANCE_WORKERS_MAX)
        goto out;
    ri->workers = (int)json_integer_value(w);
    json_t *ops = json_object_get(o, "ops"), *ro = json_object_get(o, "read_only");
    if (!json_is_array(ops) || json_array_size(ops) > KV_OPS_MAX || (ro && !json_is_array(ro)))
        goto out;
    size_t i;
    json_t *v;
    json_array_foreach(ops, i, v) {
        const char *name = json_string_value(v);
        size_t n = json_string_length(v);
        if (!name || n > KV_OP_NAME_MAX || strlen(name) != n || !s_op_ok(name, n) ||
            s_info_op(ri, name) >= 0)
            goto out;
        memcpy(ri->ops[ri->nops++], name, n + 1);
    }
    json_array_foreach(ro, i, v) {
        int k = json_is_string(v) ? s_info_op(ri, json_string_value(v)) : -1;
        if (k < 0)       /* read-only must name an operation it serves */
            goto out;
        ri->read_only[k] = 1;
    }
    rc = KV_BUS_OK;
out:
    json_decref(o);
    return rc;
}

/* ---- other versions ------------------------------------------------------ */

int kv_bus_parse_foreign(const kv_msg_t *m, kv_bus_foreign_t *out)
{
    memset(out, 0, sizeof *out);
    out->cmd = -1;
    size_t len, n = kv_msg_size(m);
    const char *tag = n ? kv_msg_data(m, 0, &len) : NULL;
    /* "KVB" + 1..4 digits, no leading zero, another version than ours */
    if (!tag || len < 4 || len > 7 || memcmp(tag, "KVB", 3) != 0 || tag[3] == '0')
        return KV_BUS_ETAG;
    int version = 0;
    for (size_t i = 3; i < len; i++) {
        if (tag[i] < '0' || tag[i] > '9')
            return KV_BUS_ETAG;
        version = version * 10 + (tag[i] - '0');
    }
    if (version == KV_PROTO_VERSION)
        return KV_BUS_ETAG;
    out->version = version;
    if (n < 2)
        return KV_BUS_OK;
    const char *cmd = kv_msg_data(m, 1, &len);
    if (len != 1)
        return KV_BUS_OK;
    out->cmd = (unsigned char)cmd[0];
    if (n >= 3 && (out->cmd == KV_CMD_REQUEST || out->cmd == KV_CMD_READY)) {
        const char *svc = kv_msg_data(m, 2, &len);
        if (s_name_ok(svc, len))
            memcpy(out->service, svc, len + 1);
    }
    if (n >= 4 && out->cmd == KV_CMD_REQUEST) {
        const char *text = kv_msg_data(m, 3, &len);
        json_t *o = len <= KV_HEADER_MAX ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)
                                         : NULL;
        if (json_is_object(o)) {
            if (s_copy_str(o, "id", out->id, sizeof out->id, kv_bus_valid_id, 1) < 0)
                out->id[0] = '\0';
            if (s_copy_str(o, "cid", out->cid, sizeof out->cid, kv_bus_valid_id, 1) < 0)
                out->cid[0] = '\0';
        }
        json_decref(o);
    }
    return KV_BUS_OK;
}

/* ---- a worker's reply ------------------------------------------------------ */

static const char S_TOO_LARGE[] =
    "{\"success\":false,\"message\":\"The response is too large to send.\"}";

kv_msg_t *kv_bus_reply(const void *ret, size_t rlen, const kv_hdr_t *h,
                       const char *body, size_t blen, int *rc)
{
    kv_hdr_t rh = *h;
    *rc = KV_BUS_OK;
    if (blen > KV_BODY_MAX) {
        *rc = KV_BUS_ESIZE;
        rh.status = KV_ST_INTERNAL;
        body = S_TOO_LARGE;
        blen = sizeof S_TOO_LARGE - 1;
    }
    char *htext = kv_hdr_encode(&rh, 1);
    kv_msg_t *m = kv_bus_envelope(KV_CMD_REPLY, ret, rlen, htext, strlen(htext), body, blen);
    free(htext);
    return m;
}
