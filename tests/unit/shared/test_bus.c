/*
 * test_bus.c -- the bus protocol's framing and header rules (kv_bus.c):
 * every command builds into the frames proto/bus.md describes, and every
 * kind of malformed message is refused with the right error; READY's
 * announcement, WITHDRAW, the per-call correlation id, what a message of
 * another version still tells, the reply size guard, and the operation
 * registry (proto/kv_ops.h).
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "kv_bus.h"
#include "kv_ops.h"
#include "../../lib/kvt.h"

static kv_msg_t *s_frames(int n, const char *const *parts)
{
    kv_msg_t *m = kv_msg_new();
    for (int i = 0; i < n; i++)
        kv_msg_addstr(m, parts[i]);
    return m;
}

static void test_builders_roundtrip(void)
{
    kv_bus_frame_t f;
    kv_msg_t *m = kv_bus_ready("scheduling");
    KVT_EQ_INT(kv_msg_size(m), 3, "ready has three frames");
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_OK, "ready parses at the broker");
    KVT_EQ_INT(f.cmd, KV_CMD_READY, "ready command byte");
    KVT_EQ_STR(f.service, "scheduling", "ready carries the service name");
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_WORKER, &f), KV_BUS_ECMD, "ready is refused at a worker");
    kv_msg_destroy(&m);
    KVT_OK(m == NULL, "destroy nulls the pointer");
    kv_msg_destroy(&m);   /* safe twice */

    m = kv_bus_heartbeat();
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_WORKER, &f), KV_BUS_OK, "heartbeat parses");
    KVT_EQ_INT(f.cmd, KV_CMD_HEARTBEAT, "heartbeat command byte");
    kv_msg_add(m, "x", 1);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_WORKER, &f), KV_BUS_EFRAMES, "heartbeat with an extra frame is refused");
    kv_msg_destroy(&m);

    const char *hdr = "{\"v\":1,\"id\":\"abc\",\"op\":\"services.list\"}";
    m = kv_bus_envelope(KV_CMD_REQUEST, "crm", 3, hdr, strlen(hdr), "{}", 2);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_OK, "client request parses at the broker");
    KVT_EQ_STR(f.service, "crm", "client request names the service");
    KVT_EQ_INT((long long)f.body_len, 2, "client request body length");
    kv_msg_destroy(&m);

    m = kv_bus_envelope(KV_CMD_REQUEST, "h0000000000000001", 17, hdr, strlen(hdr), NULL, 0);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_WORKER, &f), KV_BUS_OK, "broker request parses at a worker");
    KVT_EQ_INT((long long)f.retaddr_len, 17, "worker sees the return address");
    KVT_EQ_INT((long long)f.body_len, 0, "empty body is allowed");
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_CLIENT, &f), KV_BUS_ECMD, "request refused at a client");
    kv_msg_destroy(&m);

    m = kv_bus_envelope(KV_CMD_REPLY, "h0000000000000001", 17, "{\"v\":1,\"id\":\"abc\",\"status\":200}", 31, "{}", 2);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_OK, "worker reply parses at the broker");
    KVT_OK(f.retaddr != NULL && f.service == NULL, "worker reply carries a return address");
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_WORKER, &f), KV_BUS_ECMD, "reply refused at a worker");
    kv_msg_destroy(&m);
}

static void test_malformed_frames(void)
{
    kv_bus_frame_t f;
    kv_msg_t *m = kv_msg_new();
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_WORKER, &f), KV_BUS_EFRAMES, "empty message refused");
    kv_msg_destroy(&m);

    const char *badtag[] = { "KVB2", "\x04" };
    m = s_frames(2, badtag);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_WORKER, &f), KV_BUS_ETAG, "another protocol version tag refused");
    kv_msg_destroy(&m);

    const char *onlytag[] = { "KVB1" };
    m = s_frames(1, onlytag);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_WORKER, &f), KV_BUS_EFRAMES, "tag alone refused");
    kv_msg_destroy(&m);

    const char *badcmd[] = { "KVB1", "\x09" };
    m = s_frames(2, badcmd);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_WORKER, &f), KV_BUS_ECMD, "unknown command byte refused");
    kv_msg_destroy(&m);

    const char *longcmd[] = { "KVB1", "\x04\x04" };
    m = s_frames(2, longcmd);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_WORKER, &f), KV_BUS_ECMD, "two-byte command refused");
    kv_msg_destroy(&m);

    const char *badname[] = { "KVB1", "\x01", "Sched uling" };
    m = s_frames(3, badname);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_EFIELD, "service name with space refused");
    kv_msg_destroy(&m);

    const char *short_req[] = { "KVB1", "\x02", "crm", "{}" };
    m = s_frames(4, short_req);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_EFRAMES, "request without body frame refused");
    kv_msg_destroy(&m);

    const char *empty_hdr[] = { "KVB1", "\x02", "crm", "", "{}" };
    m = s_frames(5, empty_hdr);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_EFIELD, "empty header refused");
    kv_msg_destroy(&m);

    char *big = malloc(KV_HEADER_MAX + 2);
    memset(big, 'x', KV_HEADER_MAX + 1);
    big[KV_HEADER_MAX + 1] = '\0';
    const char *big_hdr[] = { "KVB1", "\x02", "crm", big, "{}" };
    m = s_frames(5, big_hdr);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_EFIELD, "oversized header refused");
    kv_msg_destroy(&m);
    free(big);
}

static void test_header(void)
{
    kv_hdr_t h, d;
    memset(&h, 0, sizeof h);
    h.v = 1;
    strcpy(h.id, "req-1.A_b");
    strcpy(h.op, "appointments.create");
    h.tenant_id = 42;
    strcpy(h.tenant_tz, "America/New_York");
    h.slot_interval = 15;
    h.deadline_ms = 1700000000123LL;
    char *t = kv_hdr_encode(&h, 0);
    KVT_EQ_INT(kv_hdr_decode(t, strlen(t), 0, &d), KV_BUS_OK, "request header round trip decodes");
    KVT_EQ_STR(d.id, "req-1.A_b", "request id survives");
    KVT_EQ_STR(d.op, "appointments.create", "op survives");
    KVT_EQ_INT(d.tenant_id, 42, "tenant id survives");
    KVT_EQ_STR(d.tenant_tz, "America/New_York", "tenant tz survives");
    KVT_EQ_INT(d.slot_interval, 15, "slot interval survives");
    KVT_EQ_INT(d.deadline_ms, 1700000000123LL, "deadline survives");
    free(t);

    h.status = 422;
    t = kv_hdr_encode(&h, 1);
    KVT_EQ_INT(kv_hdr_decode(t, strlen(t), 1, &d), KV_BUS_OK, "reply header round trip decodes");
    KVT_EQ_INT(d.status, 422, "status survives");
    free(t);

    const char *unknown = "{\"v\":1,\"id\":\"x\",\"op\":\"a.b\",\"future\":[1,2],\"tenant\":{\"id\":3,\"tz\":\"UTC\",\"more\":true}}";
    KVT_EQ_INT(kv_hdr_decode(unknown, strlen(unknown), 0, &d), KV_BUS_OK, "unknown fields are ignored");

    const char *v2 = "{\"v\":2,\"id\":\"x\",\"op\":\"a.b\"}";
    KVT_EQ_INT(kv_hdr_decode(v2, strlen(v2), 0, &d), KV_BUS_EVERSION, "another major version is reported as such");
    KVT_EQ_STR(d.id, "x", "the id is kept for the version error reply");

    const char *cases[] = {
        "not json", "[]", "{\"id\":\"x\",\"op\":\"a\"}", "{\"v\":\"1\",\"id\":\"x\",\"op\":\"a\"}",
        "{\"v\":1,\"op\":\"a\"}", "{\"v\":1,\"id\":\"has space\",\"op\":\"a\"}",
        "{\"v\":1,\"id\":\"x\"}", "{\"v\":1,\"id\":\"x\",\"op\":\"DROP TABLE\"}",
        "{\"v\":1,\"id\":\"x\",\"op\":\"a\",\"tenant\":{\"id\":-1}}",
        "{\"v\":1,\"id\":\"x\",\"op\":\"a\",\"tenant\":{\"id\":1,\"tz\":\"../../etc\"}}",
        "{\"v\":1,\"id\":\"x\",\"op\":\"a\",\"deadline\":\"soon\"}",
        "{\"v\":1,\"id\":\"x\",\"id\":\"y\",\"op\":\"a\"}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        KVT_EQ_INT(kv_hdr_decode(cases[i], strlen(cases[i]), 0, &d), KV_BUS_EHEADER,
                   "malformed request header %zu refused", i);
    const char *bad_status = "{\"v\":1,\"id\":\"x\",\"status\":42}";
    KVT_EQ_INT(kv_hdr_decode(bad_status, strlen(bad_status), 1, &d), KV_BUS_EHEADER, "reply status out of range refused");
    const char *no_status = "{\"v\":1,\"id\":\"x\"}";
    KVT_EQ_INT(kv_hdr_decode(no_status, strlen(no_status), 1, &d), KV_BUS_EHEADER, "reply without status refused");
}

/* The Idempotency-Key in the request header, "replayed" in the reply's
 * (proto/bus.md). */
static void test_idempotency_fields(void)
{
    kv_hdr_t h, d;
    memset(&h, 0, sizeof h);
    h.v = 1;
    strcpy(h.id, "r1");
    strcpy(h.op, "customers.create");
    h.tenant_id = 7;
    strcpy(h.idem_key, "order 42: \"quoted\" \\ ~");
    char *t = kv_hdr_encode(&h, 0);
    KVT_EQ_INT(kv_hdr_decode(t, strlen(t), 0, &d), KV_BUS_OK, "a request with an idempotency key decodes");
    KVT_EQ_STR(d.idem_key, "order 42: \"quoted\" \\ ~", "the key survives, quotes and backslash included");
    free(t);
    h.idem_key[0] = '\0';
    t = kv_hdr_encode(&h, 0);
    KVT_OK(strstr(t, "idempotency_key") == NULL, "no key: no idempotency_key field");
    KVT_EQ_INT(kv_hdr_decode(t, strlen(t), 0, &d), KV_BUS_OK, "and it decodes");
    KVT_EQ_STR(d.idem_key, "", "to no key");
    free(t);

    char longest[KV_IDEM_KEY_MAX + 1];
    memset(longest, 'k', KV_IDEM_KEY_MAX);
    longest[KV_IDEM_KEY_MAX] = '\0';
    memcpy(h.idem_key, longest, sizeof longest);
    t = kv_hdr_encode(&h, 0);
    KVT_EQ_INT(kv_hdr_decode(t, strlen(t), 0, &d), KV_BUS_OK, "a key of %d characters decodes",
               KV_IDEM_KEY_MAX);
    KVT_EQ_INT((long long)strlen(d.idem_key), KV_IDEM_KEY_MAX, "whole");
    free(t);

    char toolong[600];
    snprintf(toolong, sizeof toolong, "{\"v\":1,\"id\":\"x\",\"op\":\"a.b\",\"idempotency_key\":\"%sk\"}",
             longest);
    const char *bad[] = {
        "{\"v\":1,\"id\":\"x\",\"op\":\"a.b\",\"idempotency_key\":\"\"}",
        "{\"v\":1,\"id\":\"x\",\"op\":\"a.b\",\"idempotency_key\":42}",
        "{\"v\":1,\"id\":\"x\",\"op\":\"a.b\",\"idempotency_key\":\"tab\\there\"}",
        "{\"v\":1,\"id\":\"x\",\"op\":\"a.b\",\"idempotency_key\":\"caf\u00e9\"}",
        "{\"v\":1,\"id\":\"x\",\"op\":\"a.b\",\"idempotency_key\":\"nul\\u0000here\"}",
        toolong,
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        KVT_EQ_INT(kv_hdr_decode(bad[i], strlen(bad[i]), 0, &d), KV_BUS_EHEADER,
                   "a malformed idempotency_key is a malformed header (%zu)", i);

    memset(&h, 0, sizeof h);
    strcpy(h.id, "r2");
    h.status = 201;
    h.replayed = 1;
    t = kv_hdr_encode(&h, 1);
    KVT_EQ_INT(kv_hdr_decode(t, strlen(t), 1, &d), KV_BUS_OK, "a replayed reply decodes");
    KVT_EQ_INT(d.replayed, 1, "replayed survives");
    free(t);
    h.replayed = 0;
    t = kv_hdr_encode(&h, 1);
    KVT_OK(strstr(t, "replayed") == NULL, "a first answer carries no replayed field");
    KVT_EQ_INT(kv_hdr_decode(t, strlen(t), 1, &d), KV_BUS_OK, "and decodes");
    KVT_EQ_INT(d.replayed, 0, "as not replayed");
    free(t);
    const char *rp = "{\"v\":1,\"id\":\"x\",\"status\":201,\"replayed\":\"yes\"}";
    KVT_EQ_INT(kv_hdr_decode(rp, strlen(rp), 1, &d), KV_BUS_EHEADER, "replayed must be a boolean");

    KVT_OK(kv_bus_valid_idem_key(" ", 1) && kv_bus_valid_idem_key("~", 1), "space and ~ are printable");
    KVT_OK(!kv_bus_valid_idem_key("", 0), "an empty key is refused");
    KVT_OK(!kv_bus_valid_idem_key("a\x7f", 2) && !kv_bus_valid_idem_key("a\x1f", 2),
           "DEL and control characters are refused");
    KVT_OK(!kv_bus_valid_idem_key("a\0b", 3), "NUL is refused");
    KVT_OK(!kv_bus_valid_idem_key("\xc3\xa9", 2), "bytes outside ASCII are refused");
}

static void test_ids(void)
{
    char a[33], b[33];
    kv_bus_new_id(a);
    kv_bus_new_id(b);
    KVT_EQ_INT((long long)strlen(a), 32, "new ids are 32 chars");
    KVT_OK(strcmp(a, b) != 0, "new ids differ");
    KVT_OK(kv_bus_valid_id(a, strlen(a)), "new ids are valid ids");
    char longid[70];
    memset(longid, 'a', 65);
    longid[65] = '\0';
    KVT_OK(!kv_bus_valid_id(longid, 65), "65-char id refused");
    KVT_OK(!kv_bus_valid_id("a\nb", 3), "id with newline refused");
}

static void test_events(void)
{
    kv_event_hdr_t h, d;
    memset(&h, 0, sizeof h);
    strcpy(h.producer, "scheduling");
    h.seq = 7;
    strcpy(h.type, "appointment.created");
    strcpy(h.id, "0b8f1c3e-1111-2222-3333-444455556666");
    h.tenant_id = 9;
    strcpy(h.created_at, "2026-11-28T10:00:00.000000Z");
    const char *payload = "{\"id\":1}";
    kv_msg_t *m = kv_event_msg(&h, payload, strlen(payload));
    const char *p;
    size_t plen;
    KVT_EQ_INT(kv_event_parse(m, &d, &p, &plen), KV_BUS_OK, "event round trip parses");
    KVT_EQ_INT(d.seq, 7, "event seq survives");
    KVT_EQ_STR(d.type, "appointment.created", "event type survives");
    KVT_EQ_INT(d.tenant_id, 9, "event tenant survives");
    KVT_OK(plen == strlen(payload) && memcmp(p, payload, plen) == 0, "event payload bytes survive");
    kv_msg_destroy(&m);

    const char *wrong_topic[] = { "calls", "{\"v\":1,\"producer\":\"scheduling\",\"seq\":1,\"type\":\"a.b\",\"id\":\"x\",\"tenant_id\":1,\"created_at\":\"t\"}", "{}" };
    m = s_frames(3, wrong_topic);
    KVT_EQ_INT(kv_event_parse(m, &d, &p, &plen), KV_BUS_EHEADER, "event whose topic is not its producer refused");
    kv_msg_destroy(&m);
    const char *zero_seq[] = { "calls", "{\"v\":1,\"producer\":\"calls\",\"seq\":0,\"type\":\"a.b\",\"id\":\"x\",\"tenant_id\":1,\"created_at\":\"t\"}", "{}" };
    m = s_frames(3, zero_seq);
    KVT_EQ_INT(kv_event_parse(m, &d, &p, &plen), KV_BUS_EHEADER, "event with sequence 0 refused");
    kv_msg_destroy(&m);
    const char *two[] = { "calls", "{}" };
    m = s_frames(2, two);
    KVT_EQ_INT(kv_event_parse(m, &d, &p, &plen), KV_BUS_EFRAMES, "event without payload frame refused");
    kv_msg_destroy(&m);
}

static void test_msg(void)
{
    kv_msg_t *m = kv_msg_new();
    kv_msg_addstr(m, "b");
    kv_msg_push(m, "a", 1);
    size_t len;
    KVT_EQ_STR(kv_msg_data(m, 0, &len), "a", "push puts the frame first");
    void *d;
    KVT_EQ_INT(kv_msg_pop(m, &d, &len), 0, "pop returns the first frame");
    KVT_EQ_STR((char *)d, "a", "popped frame is the first");
    free(d);
    KVT_EQ_INT((long long)kv_msg_size(m), 1, "one frame left");
    KVT_OK(kv_msg_data(m, 5, &len) == NULL, "out of range frame is NULL");
    kv_msg_destroy(&m);
}


static void test_ready_info(void)
{
    kv_ready_info_t ri, d;
    memset(&ri, 0, sizeof ri);
    ri.v = KV_PROTO_VERSION;
    strcpy(ri.instance, "host-42-abcd1234");
    ri.workers = 4;
    strcpy(ri.ops[0], "services.list");
    ri.read_only[0] = 1;
    strcpy(ri.ops[1], "appointments.create");
    ri.nops = 2;
    char *t = kv_ready_info_encode(&ri);
    KVT_EQ_INT(kv_ready_info_decode(t, strlen(t), &d), KV_BUS_OK, "READY announcement round trip decodes");
    KVT_EQ_STR(d.instance, "host-42-abcd1234", "instance id survives");
    KVT_EQ_INT(d.workers, 4, "worker count survives");
    KVT_EQ_INT(d.nops, 2, "operations survive");
    KVT_OK(strcmp(d.ops[1], "appointments.create") == 0 && d.read_only[0] && !d.read_only[1],
           "read-only flags survive, per operation");

    kv_msg_t *m = kv_bus_ready_info("scheduling", t);
    kv_bus_frame_t f;
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_OK, "READY with its JSON frame parses");
    KVT_OK(f.info && f.info_len == strlen(t), "READY's JSON frame is handed over");
    kv_msg_destroy(&m);
    m = kv_bus_ready("scheduling");
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_OK, "READY without it still parses (older peers)");
    KVT_OK(f.info == NULL, "no JSON frame: info is NULL");
    kv_msg_destroy(&m);
    const char *empty_info[] = { "KVB1", "\x01", "crm", "" };
    m = s_frames(4, empty_info);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_EFIELD, "READY with an empty JSON frame refused");
    kv_msg_destroy(&m);
    const char *five[] = { "KVB1", "\x01", "crm", "{}", "{}" };
    m = s_frames(5, five);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_EFRAMES, "READY with five frames refused");
    kv_msg_destroy(&m);
    free(t);

    const char *v2 = "{\"v\":2,\"instance\":\"i\",\"workers\":1,\"ops\":[]}";
    KVT_EQ_INT(kv_ready_info_decode(v2, strlen(v2), &d), KV_BUS_EVERSION, "a READY of version 2 is reported as such");
    KVT_EQ_INT(d.v, 2, "and its version is kept for the log line");
    const char *bad[] = {
        "[]", "{\"v\":1,\"workers\":1,\"ops\":[]}",                         /* no instance */
        "{\"v\":1,\"instance\":\"a b\",\"workers\":1,\"ops\":[]}",            /* bad instance */
        "{\"v\":1,\"instance\":\"i\",\"workers\":0,\"ops\":[]}",              /* no workers */
        "{\"v\":1,\"instance\":\"i\",\"workers\":100000,\"ops\":[]}",         /* too many */
        "{\"v\":1,\"instance\":\"i\",\"workers\":1}",                         /* no ops */
        "{\"v\":1,\"instance\":\"i\",\"workers\":1,\"ops\":[\"A B\"]}",       /* bad op */
        "{\"v\":1,\"instance\":\"i\",\"workers\":1,\"ops\":[\"a\",\"a\"]}",   /* twice */
        "{\"v\":1,\"instance\":\"i\",\"workers\":1,\"ops\":[\"a\"],\"read_only\":[\"b\"]}",
        "{\"v\":1,\"instance\":\"i\",\"workers\":1,\"ops\":[\"a\"],\"read_only\":\"a\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        KVT_EQ_INT(kv_ready_info_decode(bad[i], strlen(bad[i]), &d), KV_BUS_EHEADER,
                   "malformed READY announcement %zu refused", i);
    /* more operations than a service may announce */
    char many[8192];
    size_t o = (size_t)snprintf(many, sizeof many, "{\"v\":1,\"instance\":\"i\",\"workers\":1,\"ops\":[");
    for (int i = 0; i <= KV_OPS_MAX; i++)
        o += (size_t)snprintf(many + o, sizeof many - o, "%s\"op%d\"", i ? "," : "", i);
    snprintf(many + o, sizeof many - o, "]}");
    KVT_EQ_INT(kv_ready_info_decode(many, strlen(many), &d), KV_BUS_EHEADER,
               "more than %d operations refused", KV_OPS_MAX);
}

static void test_withdraw_and_cid(void)
{
    kv_bus_frame_t f;
    kv_msg_t *m = kv_bus_withdraw();
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_OK, "WITHDRAW parses at the broker");
    KVT_EQ_INT(f.cmd, KV_CMD_WITHDRAW, "WITHDRAW command byte");
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_WORKER, &f), KV_BUS_OK, "its acknowledgement parses at a worker");
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_CLIENT, &f), KV_BUS_ECMD, "WITHDRAW refused at a client");
    kv_msg_add(m, "x", 1);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_WORKER, &f), KV_BUS_EFRAMES, "WITHDRAW with an extra frame refused");
    kv_msg_destroy(&m);

    kv_hdr_t h, d;
    memset(&h, 0, sizeof h);
    strcpy(h.id, "parent-request");
    strcpy(h.op, "customers.lookup");
    strcpy(h.cid, "00000000000000a1");
    char *t = kv_hdr_encode(&h, 0);
    KVT_EQ_INT(kv_hdr_decode(t, strlen(t), 0, &d), KV_BUS_OK, "request header with a cid decodes");
    KVT_EQ_STR(d.cid, "00000000000000a1", "the correlation id survives a request");
    free(t);
    h.status = 200;
    t = kv_hdr_encode(&h, 1);
    KVT_EQ_INT(kv_hdr_decode(t, strlen(t), 1, &d), KV_BUS_OK, "reply header with a cid decodes");
    KVT_EQ_STR(d.cid, "00000000000000a1", "the correlation id survives a reply");
    KVT_EQ_STR(d.id, "parent-request", "beside the parent's request id");
    free(t);
    h.cid[0] = '\0';
    t = kv_hdr_encode(&h, 1);
    KVT_OK(strstr(t, "cid") == NULL, "no cid key when there is none");
    free(t);
    const char *long_cid = "{\"v\":1,\"id\":\"x\",\"op\":\"a\",\"cid\":\"0123456789abcdef0123456789abcdef0\"}";
    KVT_EQ_INT(kv_hdr_decode(long_cid, strlen(long_cid), 0, &d), KV_BUS_EHEADER, "a 33-char cid refused");
    const char *bad_cid = "{\"v\":1,\"id\":\"x\",\"op\":\"a\",\"cid\":\"a b\"}";
    KVT_EQ_INT(kv_hdr_decode(bad_cid, strlen(bad_cid), 0, &d), KV_BUS_EHEADER, "a cid with a space refused");
    const char *v2 = "{\"v\":2,\"id\":\"x\",\"cid\":\"c7\",\"op\":\"a\"}";
    KVT_EQ_INT(kv_hdr_decode(v2, strlen(v2), 0, &d), KV_BUS_EVERSION, "header of version 2");
    KVT_EQ_STR(d.cid, "c7", "keeps its cid for the 505 reply");
}

static void test_foreign(void)
{
    kv_bus_foreign_t fo;
    kv_bus_frame_t f;
    const char *req[] = { "KVB2", "\x02", "crm", "{\"v\":2,\"id\":\"r-9\",\"cid\":\"c9\",\"new\":1}", "{}" };
    kv_msg_t *m = s_frames(5, req);
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_ETAG, "a KVB2 request is not KVB1");
    KVT_EQ_INT(kv_bus_parse_foreign(m, &fo), KV_BUS_OK, "but it is a version of this protocol");
    KVT_EQ_INT(fo.version, 2, "its version is read from the tag");
    KVT_EQ_INT(fo.cmd, KV_CMD_REQUEST, "its command is read");
    KVT_EQ_STR(fo.service, "crm", "its service is read");
    KVT_EQ_STR(fo.id, "r-9", "its request id is read");
    KVT_EQ_STR(fo.cid, "c9", "its correlation id is read");
    kv_msg_destroy(&m);
    const char *v12[] = { "KVB12", "\x02", "crm", "not json" };
    m = s_frames(4, v12);
    KVT_EQ_INT(kv_bus_parse_foreign(m, &fo), KV_BUS_OK, "KVB12 is a version too");
    KVT_OK(fo.version == 12 && fo.id[0] == '\0', "an unreadable header leaves id empty");
    kv_msg_destroy(&m);
    const char *ready[] = { "KVB3", "\x01", "scheduling", "{\"anything\":true}" };
    m = s_frames(4, ready);
    KVT_OK(kv_bus_parse_foreign(m, &fo) == KV_BUS_OK && fo.cmd == KV_CMD_READY &&
           strcmp(fo.service, "scheduling") == 0, "a READY of version 3 names its service");
    kv_msg_destroy(&m);
    const char *others[][2] = { { "HTTP", "\x02" }, { "KVB1", "\x02" }, { "KVB0", "\x02" },
                                { "KVBx", "\x02" }, { "KVB", "\x02" }, { "KVB12345", "\x02" } };
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        m = s_frames(2, others[i]);
        KVT_EQ_INT(kv_bus_parse_foreign(m, &fo), KV_BUS_ETAG, "tag %s is not another version", others[i][0]);
        kv_msg_destroy(&m);
    }
}

static void test_reply_guard(void)
{
    kv_hdr_t h;
    memset(&h, 0, sizeof h);
    strcpy(h.id, "big");
    h.status = 200;
    int rc;
    kv_msg_t *m = kv_bus_reply("h0000000000000001", 17, &h, "{\"success\":true}", 16, &rc);
    kv_bus_frame_t f;
    KVT_OK(rc == KV_BUS_OK && kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f) == KV_BUS_OK &&
           f.body_len == 16, "a reply that fits is sent as is");
    kv_msg_destroy(&m);
    size_t n = KV_BODY_MAX + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    m = kv_bus_reply("h0000000000000001", 17, &h, big, n, &rc);
    KVT_EQ_INT(rc, KV_BUS_ESIZE, "a body one byte over the frame limit is reported");
    KVT_EQ_INT(kv_bus_parse(m, KV_BUS_AT_BROKER_FROM_CLIENT, &f), KV_BUS_OK,
               "and what is sent instead is a reply the broker accepts");
    kv_hdr_t d;
    KVT_OK(kv_hdr_decode(f.header, f.header_len, 1, &d) == KV_BUS_OK && d.status == 500,
           "with status 500");
    KVT_OK(f.body_len < 200 && strstr(f.body, "too large") != NULL,
           "and a short envelope saying the response is too large");
    kv_msg_destroy(&m);
    free(big);
}

static void test_registry(void)
{
    KVT_EQ_STR(KV_OP(SYS_PING)->name, KV_OP_PING, "the registry's sys.ping is KV_OP_PING");
    KVT_EQ_STR(KV_OP(EVENTS_SINCE)->name, KV_OP_EVENTS_SINCE, "the registry's events.since is KV_OP_EVENTS_SINCE");
    KVT_OK(kv_op_find("appointments.create") == KV_OP(APPOINTMENTS_CREATE), "lookup by name finds the entry");
    KVT_OK(kv_op_find("no.such") == NULL && kv_op_find(NULL) == NULL, "an unknown name is NULL");
    int names_ok = 1, unique = 1, reads = 0;
    for (int i = 0; i < KV_OPID_COUNT; i++) {
        const kv_op_def_t *d = &kv_op_defs[i];
        names_ok &= d->name && strlen(d->name) > 0 && strlen(d->name) <= KV_OP_NAME_MAX;
        for (int k = 0; k < i; k++)
            unique &= strcmp(kv_op_defs[k].name, d->name) != 0;
        reads += (d->flags & KV_OPF_READ) != 0;
    }
    KVT_OK(names_ok, "every registry name is 1..%d characters", KV_OP_NAME_MAX);
    KVT_OK(unique, "no operation name appears twice in the registry");
    KVT_OK(!(KV_OP(APPOINTMENTS_CREATE)->flags & KV_OPF_READ) &&
           !(KV_OP(CUSTOMERS_FIND_OR_CREATE)->flags & KV_OPF_READ) &&
           !(KV_OP(CALLS_CREATE)->flags & KV_OPF_READ) && (KV_OP(CALLS_LIST)->flags & KV_OPF_READ),
           "writes are not read-only, lists are (%d read-only operations)", reads);
}

int main(void)
{
    test_ready_info();
    test_withdraw_and_cid();
    test_foreign();
    test_reply_guard();
    test_registry();
    test_builders_roundtrip();
    test_malformed_frames();
    test_header();
    test_idempotency_fields();
    test_ids();
    test_events();
    test_msg();
    return kvt_done();
}
