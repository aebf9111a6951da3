/*
 * fuzz_bus.c -- bus messages as any peer on the bus could send them
 * (proto/bus.md): kv_bus_parse from each side, the request and reply
 * headers (kv_hdr_decode), the request body a worker decodes, READY's
 * announcement (kv_ready_info_decode), a message of another protocol
 * version (kv_bus_parse_foreign) and the event envelope of PUB/SUB
 * (kv_event_parse); and the input but its first byte as an
 * Idempotency-Key header (kv_bus_valid_idem_key).
 *
 * The input is the message's frames separated by the byte 0xF5
 * (fuzz_split), after one byte that chooses the receiver: 0..3 the sides
 * of kv_bus_side_t, 4 the event intake.
 *
 * Properties: a parsed message has exactly the frames its command takes,
 * with the fields inside their limits (service names of [a-z0-9_-]{1,32},
 * return addresses of 1..256 bytes, headers of 1..4096 bytes, bodies of at
 * most 2 MiB); a header that decodes encodes back (kv_hdr_encode) to a
 * text that decodes to the same values, an announcement likewise
 * (kv_ready_info_encode); what is read of a foreign message has the
 * shapes of ours (ids, service names); an event that parses rebuilds
 * (kv_event_msg) into a message that parses to the same header and
 * payload.
 */
#include "fuzz.h"

#include "kv_bus.h"
#include "kv_msg.h"

static void s_add(void *arg, const uint8_t *f, size_t len)
{
    kv_msg_add(arg, f, len);
}

static int s_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > KV_SERVICE_NAME_MAX)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static void s_hdr_roundtrip(const kv_hdr_t *h, int is_reply)
{
    FUZZ_CHECK(kv_bus_valid_id(h->id, strlen(h->id)));
    char *text = kv_hdr_encode(h, is_reply);
    kv_hdr_t back;
    FUZZ_CHECK(kv_hdr_decode(text, strlen(text), is_reply, &back) == KV_BUS_OK);
    FUZZ_CHECK(strcmp(back.id, h->id) == 0 && back.v == h->v);
    if (is_reply) {
        FUZZ_CHECK(back.status == h->status && h->status >= 100 && h->status <= 599);
    } else {
        FUZZ_CHECK(strcmp(back.op, h->op) == 0 && back.tenant_id == h->tenant_id &&
                   back.deadline_ms == h->deadline_ms);
        FUZZ_CHECK(strcmp(back.idem_key, h->idem_key) == 0);
        FUZZ_CHECK(h->idem_key[0] == '\0' || kv_bus_valid_idem_key(h->idem_key, strlen(h->idem_key)));
        if (h->tenant_id > 0)
            FUZZ_CHECK(strcmp(back.tenant_tz, h->tenant_tz) == 0 &&
                       back.slot_interval == h->slot_interval &&
                       h->slot_interval >= 0 && h->slot_interval <= 1440);
    }
    FUZZ_CHECK(strcmp(back.cid, h->cid) == 0);
    FUZZ_CHECK(h->cid[0] == '\0' || kv_bus_valid_id(h->cid, strlen(h->cid)));
    if (is_reply)
        FUZZ_CHECK(back.replayed == h->replayed);
    free(text);
}

/* READY's announcement, as the broker reads it (gw_broker.c). */
static void s_ready_info(const char *text, size_t len)
{
    kv_ready_info_t ri;
    if (kv_ready_info_decode(text, len, &ri) != KV_BUS_OK)
        return;
    FUZZ_CHECK(ri.v == KV_PROTO_VERSION);
    FUZZ_CHECK(kv_bus_valid_id(ri.instance, strlen(ri.instance)));
    FUZZ_CHECK(ri.workers >= 1 && ri.nops >= 0 && ri.nops <= KV_OPS_MAX);
    for (int i = 0; i < ri.nops; i++) {
        FUZZ_CHECK(ri.ops[i][0] != '\0' && strlen(ri.ops[i]) <= KV_OP_NAME_MAX);
        for (int j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(ri.ops[i], ri.ops[j]) != 0);
    }
    char *again = kv_ready_info_encode(&ri);
    kv_ready_info_t back;
    FUZZ_CHECK(kv_ready_info_decode(again, strlen(again), &back) == KV_BUS_OK);
    FUZZ_CHECK(back.v == ri.v && strcmp(back.instance, ri.instance) == 0 &&
               back.workers == ri.workers && back.nops == ri.nops);
    for (int i = 0; i < ri.nops; i++)
        FUZZ_CHECK(strcmp(back.ops[i], ri.ops[i]) == 0 && back.read_only[i] == ri.read_only[i]);
    free(again);
}

/* A message of another version, as the broker reads it to answer. */
static void s_foreign(const kv_msg_t *m)
{
    kv_bus_foreign_t f;
    if (kv_bus_parse_foreign(m, &f) != KV_BUS_OK)
        return;
    FUZZ_CHECK(f.version >= 1 && f.version <= 9999 && f.version != KV_PROTO_VERSION);
    FUZZ_CHECK(f.cmd >= -1 && f.cmd <= 255);
    FUZZ_CHECK(f.service[0] == '\0' || s_name_ok(f.service));
    FUZZ_CHECK(f.id[0] == '\0' || kv_bus_valid_id(f.id, strlen(f.id)));
    FUZZ_CHECK(f.cid[0] == '\0' || kv_bus_valid_id(f.cid, strlen(f.cid)));
}

/* What a worker does with a request body (kv_service.c). */
static void s_body(const char *body, size_t len)
{
    json_t *bus = len ? json_loadb(body, len, 0, NULL) : json_object();
    (void)(json_is_object(bus) && json_is_object(json_object_get(bus, "params")));
    json_decref(bus);
}

static void s_frames(const kv_msg_t *m, kv_bus_side_t side)
{
    kv_bus_frame_t f;
    int rc = kv_bus_parse(m, side, &f);
    FUZZ_CHECK(rc <= 0 && rc >= KV_BUS_EVERSION);
    if (rc == KV_BUS_ETAG)
        s_foreign(m);
    if (rc != KV_BUS_OK)
        return;
    size_t n = kv_msg_size(m);
    switch (f.cmd) {
    case KV_CMD_HEARTBEAT:
    case KV_CMD_DISCONNECT:
        FUZZ_CHECK(n == 2);
        return;
    case KV_CMD_WITHDRAW:
        FUZZ_CHECK(n == 2 && side != KV_BUS_AT_CLIENT);
        return;
    case KV_CMD_READY:
        FUZZ_CHECK((n == 3 || n == 4) && f.service && s_name_ok(f.service));
        FUZZ_CHECK((n == 4) == (f.info != NULL));
        if (f.info) {
            FUZZ_CHECK(f.info_len >= 1 && f.info_len <= KV_READY_INFO_MAX);
            s_ready_info(f.info, f.info_len);
        }
        return;
    case KV_CMD_REQUEST:
    case KV_CMD_REPLY:
        break;
    default:
        FUZZ_CHECK(!"unknown command parsed");
    }
    FUZZ_CHECK(n == 5 && (f.service != NULL) != (f.retaddr != NULL));
    FUZZ_CHECK(!f.service || s_name_ok(f.service));
    FUZZ_CHECK(!f.retaddr || (f.retaddr_len >= 1 && f.retaddr_len <= KV_RETADDR_MAX));
    FUZZ_CHECK(f.header_len >= 1 && f.header_len <= KV_HEADER_MAX);
    FUZZ_CHECK(f.body_len <= KV_BODY_MAX);

    kv_hdr_t h;
    int is_reply = f.cmd == KV_CMD_REPLY;
    rc = kv_hdr_decode(f.header, f.header_len, is_reply, &h);
    if (rc == KV_BUS_OK) {
        s_hdr_roundtrip(&h, is_reply);
        if (!is_reply)
            s_body(f.body, f.body_len);
    } else if (rc == KV_BUS_EVERSION) {
        FUZZ_CHECK(h.id[0] == '\0' || kv_bus_valid_id(h.id, strlen(h.id)));
    } else {
        FUZZ_CHECK(rc == KV_BUS_EHEADER);
    }
}

static void s_event(const kv_msg_t *m)
{
    kv_event_hdr_t h;
    const char *payload = NULL;
    size_t plen = 0;
    if (kv_event_parse(m, &h, &payload, &plen) != KV_BUS_OK)
        return;
    FUZZ_CHECK(s_name_ok(h.producer) && h.seq > 0 && h.tenant_id > 0);
    FUZZ_CHECK(kv_bus_valid_id(h.id, strlen(h.id)));
    kv_msg_t *again = kv_event_msg(&h, payload, plen);
    kv_event_hdr_t back;
    const char *p2;
    size_t l2;
    FUZZ_CHECK(kv_event_parse(again, &back, &p2, &l2) == KV_BUS_OK);
    FUZZ_CHECK(memcmp(&back, &h, sizeof h) == 0 || (strcmp(back.producer, h.producer) == 0 &&
               back.seq == h.seq && strcmp(back.type, h.type) == 0 &&
               strcmp(back.id, h.id) == 0 && back.tenant_id == h.tenant_id &&
               strcmp(back.created_at, h.created_at) == 0));
    FUZZ_CHECK(l2 == plen && memcmp(p2, payload, plen) == 0);
    kv_msg_destroy(&again);
    /* what the webhook intake does with the payload */
    json_decref(json_loadb(payload, plen, 0, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* the whole rest as an Idempotency-Key header value (gw_public.c):
       1..255 bytes of printable ASCII, nothing else */
    int printable = size - 1 >= 1 && size - 1 <= KV_IDEM_KEY_MAX;
    for (size_t i = 1; i < size && printable; i++)
        printable = data[i] >= 0x20 && data[i] <= 0x7e;
    FUZZ_CHECK(kv_bus_valid_idem_key((const char *)data + 1, size - 1) == printable);

    unsigned who = data[0] % 5;
    kv_msg_t *m = kv_msg_new();
    fuzz_split(data + 1, size - 1, s_add, m);
    if (who < 4)
        s_frames(m, (kv_bus_side_t)who);
    else
        s_event(m);
    kv_msg_destroy(&m);
    return 0;
}
