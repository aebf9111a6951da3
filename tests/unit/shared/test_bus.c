/*
 * test_bus.c -- the bus protocol's framing and header rules (kv_bus.c):
 * every command builds into the frames proto/bus.md describes, and every
 * kind of malformed message is refused with the right error.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "kv_bus.h"
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

int main(void)
{
    test_builders_roundtrip();
    test_malformed_frames();
    test_header();
    test_ids();
    test_events();
    test_msg();
    return kvt_done();
}
