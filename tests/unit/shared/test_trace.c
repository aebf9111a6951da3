/*
 * test_trace.c -- unit tests of shared/kv_trace.c: W3C Trace Context level
 * 1 traceparent parsing (valid, each invalid shape, future versions),
 * tracestate validation, a new span per hop that keeps the trace id and
 * flags, a new trace for a bad or missing header, and the current trace
 * reaching every kv_log line of the thread as trace_id; the bus request
 * header and the event header carry traceparent/tracestate, and drop an
 * invalid one instead of refusing the message.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/kvt.h"
#include "kv_bus.h"
#include "kv_log.h"
#include "kv_trace.h"

#define TP_OK "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static int s_parse(const char *s)
{
    kv_trace_t t;
    memset(&t, 0, sizeof t);
    return kv_traceparent_parse(s, strlen(s), &t);
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void *s_first_span(void *arg)
{
    kv_trace_random_hex(arg, 16);
    return NULL;
}

static int s_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i]))
            return 0;
    return 1;
}

int main(void)
{
    kv_trace_t t;
    memset(&t, 0, sizeof t);
    KVT_EQ_INT(kv_traceparent_parse(TP_OK, strlen(TP_OK), &t), 0, "the spec's example parses");
    KVT_EQ_STR(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736", "its trace id");
    KVT_EQ_STR(t.parent_id, "00f067aa0ba902b7", "its parent id");
    KVT_EQ_INT(t.flags, 1, "its flags (sampled)");

    KVT_OK(s_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00") == 0, "flags 00 parse");
    KVT_OK(s_parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01") != 0, "uppercase hex is refused");
    KVT_OK(s_parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01") != 0, "an all-zero trace id is refused");
    KVT_OK(s_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01") != 0, "an all-zero parent id is refused");
    KVT_OK(s_parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") != 0, "version ff is refused");
    KVT_OK(s_parse(TP_OK "-") != 0, "version 00 with anything after the flags is refused");
    KVT_OK(s_parse("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01") != 0, "a short trace id is refused");
    KVT_OK(s_parse("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") != 0, "a wrong separator is refused");
    KVT_OK(s_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g") != 0, "non-hex flags are refused");
    KVT_OK(s_parse("") != 0 && s_parse("garbage") != 0, "empty and garbage are refused");
    KVT_OK(s_parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-brings") == 0,
           "a later version with more fields parses (its level-1 part)");
    KVT_OK(s_parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x") != 0,
           "a later version without '-' after the flags is refused");

    KVT_OK(kv_tracestate_valid("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", 38), "a two-member tracestate is valid");
    KVT_OK(kv_tracestate_valid("", 0), "an empty tracestate is valid");
    KVT_OK(kv_tracestate_valid("a@b=1 , ,c=2", 12), "tenant@system keys, spaces and empty members are valid");
    KVT_OK(!kv_tracestate_valid("Rojo=1", 6), "an uppercase key is invalid");
    KVT_OK(!kv_tracestate_valid("rojo", 4), "a member without '=' is invalid");
    KVT_OK(!kv_tracestate_valid("rojo=a=b", 8), "a value with '=' is invalid");
    char many[600] = "";
    for (int i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sk%d=v", i ? "," : "", i);
    KVT_OK(!kv_tracestate_valid(many, strlen(many)), "33 members are too many");

    kv_trace_t a, b;
    kv_trace_begin(&a, TP_OK, "rojo=00f067aa0ba902b7");
    KVT_EQ_STR(a.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736", "a valid traceparent keeps its trace id");
    KVT_EQ_STR(a.parent_id, "00f067aa0ba902b7", "and names the caller's span as parent");
    KVT_OK(s_hex(a.span_id, 16) && strcmp(a.span_id, "00f067aa0ba902b7") != 0, "this hop gets a new span id");
    KVT_EQ_STR(a.state, "rojo=00f067aa0ba902b7", "a valid tracestate travels along");
    char out[KV_TRACEPARENT_LEN + 1];
    kv_traceparent_format(&a, out);
    KVT_OK(strncmp(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36) == 0 &&
           strcmp(out + 36 + 16, "-01") == 0 && strncmp(out + 36, a.span_id, 16) == 0,
           "the traceparent sent on carries the trace, our span, the flags");
    KVT_EQ_INT(s_parse(out), 0, "and parses again");

    kv_trace_begin(&b, "00-zzz", "rojo=1");
    KVT_OK(s_hex(b.trace_id, 32) && strcmp(b.trace_id, a.trace_id) != 0 && b.parent_id[0] == '\0',
           "an invalid traceparent starts a new trace");
    KVT_EQ_STR(b.state, "", "the tracestate of an invalid traceparent is dropped");
    kv_trace_begin(&b, NULL, NULL);
    KVT_OK(s_hex(b.trace_id, 32) && b.flags == 1, "no traceparent: a new sampled trace");
    kv_trace_begin(&b, TP_OK, "Bad=1");
    KVT_EQ_STR(b.state, "", "an invalid tracestate is dropped, the traceparent kept");
    KVT_EQ_STR(b.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736", "(trace id kept)");

    /* ids: never repeated, and every thread seeded on its own */
    enum { N = 20000 };
    static char ids[N][17];
    for (int i = 0; i < N; i++)
        kv_trace_random_hex(ids[i], 16);
    qsort(ids, N, sizeof ids[0], s_cmp);
    int dups = 0, hex = 1;
    for (int i = 0; i < N; i++) {
        dups += i > 0 && strcmp(ids[i], ids[i - 1]) == 0;
        hex &= s_hex(ids[i], 16);
    }
    KVT_OK(dups == 0 && hex, "20000 span ids: 16 lowercase hex digits each, no two alike");
    char t1[17], t2[17];
    pthread_t th1, th2;
    pthread_create(&th1, NULL, s_first_span, t1);
    pthread_create(&th2, NULL, s_first_span, t2);
    pthread_join(th1, NULL);
    pthread_join(th2, NULL);
    KVT_OK(strcmp(t1, t2) != 0, "two new threads' first span ids differ (each seeded on its own)");

    /* the thread's current trace reaches kv_log */
    kv_log_init("crm");
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    kv_trace_set_current(&a);
    KVT_OK(kv_trace_current() && strcmp(kv_trace_current()->span_id, a.span_id) == 0,
           "the current trace is the one set");
    kv_info("req-9", "inside");
    kv_trace_clear_current();
    kv_info("req-9", "outside");
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char buf[4096] = "";
    rewind(tmp);
    size_t got = fread(buf, 1, sizeof buf - 1, tmp);
    buf[got] = '\0';
    fclose(tmp);
    char *nl = strchr(buf, '\n');
    KVT_OK(nl != NULL, "two lines logged");
    if (nl) {
        *nl = '\0';
        json_t *j1 = json_loads(buf, 0, NULL), *j2 = json_loads(nl + 1, 0, NULL);
        KVT_EQ_STR(json_string_value(json_object_get(j1, "trace_id")), a.trace_id,
                   "a line logged while serving a trace carries its trace_id");
        KVT_EQ_STR(json_string_value(json_object_get(j1, "request_id")), "req-9", "and its request_id");
        KVT_OK(j2 && json_object_get(j2, "trace_id") == NULL, "a line after the request has no trace_id");
        json_decref(j1);
        json_decref(j2);
    }
    KVT_OK(kv_trace_current() == NULL, "no current trace after clear");

    /* the bus request header */
    kv_hdr_t h, d;
    memset(&h, 0, sizeof h);
    snprintf(h.id, sizeof h.id, "rid-1");
    snprintf(h.op, sizeof h.op, "services.list");
    h.tenant_id = 7;
    snprintf(h.traceparent, sizeof h.traceparent, "%s", TP_OK);
    snprintf(h.tracestate, sizeof h.tracestate, "rojo=1");
    char *text = kv_hdr_encode(&h, 0);
    KVT_OK(text && strstr(text, "\"traceparent\":\"" TP_OK "\"") != NULL, "a request header carries traceparent");
    KVT_EQ_INT(kv_hdr_decode(text, strlen(text), 0, &d), KV_BUS_OK, "and decodes");
    KVT_EQ_STR(d.traceparent, TP_OK, "traceparent round-trips");
    KVT_EQ_STR(d.tracestate, "rojo=1", "tracestate round-trips");
    free(text);
    const char *bad = "{\"v\":1,\"id\":\"r\",\"op\":\"sys.ping\",\"traceparent\":\"00-zz\",\"tracestate\":\"x=1\"}";
    KVT_EQ_INT(kv_hdr_decode(bad, strlen(bad), 0, &d), KV_BUS_OK, "an invalid traceparent does not make the header malformed");
    KVT_OK(d.traceparent[0] == '\0' && d.tracestate[0] == '\0', "it is dropped, its tracestate too");
    const char *num = "{\"v\":1,\"id\":\"r\",\"op\":\"sys.ping\",\"traceparent\":42}";
    KVT_EQ_INT(kv_hdr_decode(num, strlen(num), 0, &d), KV_BUS_OK, "a traceparent of the wrong type is dropped too");
    memset(&h, 0, sizeof h);
    snprintf(h.id, sizeof h.id, "rid-2");
    snprintf(h.op, sizeof h.op, "sys.ping");
    text = kv_hdr_encode(&h, 0);
    KVT_OK(text && strstr(text, "trace") == NULL, "no trace: no trace keys in the header");
    free(text);

    /* the event header */
    kv_event_hdr_t eh, ed;
    memset(&eh, 0, sizeof eh);
    snprintf(eh.producer, sizeof eh.producer, "scheduling");
    eh.seq = 3;
    snprintf(eh.type, sizeof eh.type, "appointment.created");
    snprintf(eh.id, sizeof eh.id, "0b8f3c1e-1111-2222-3333-444455556666");
    eh.tenant_id = 9;
    snprintf(eh.created_at, sizeof eh.created_at, "2026-12-01T10:00:00.000000Z");
    snprintf(eh.traceparent, sizeof eh.traceparent, "%s", TP_OK);
    kv_msg_t *m = kv_event_msg(&eh, "{}", 2);
    const char *payload;
    size_t plen;
    KVT_EQ_INT(kv_event_parse(m, &ed, &payload, &plen), KV_BUS_OK, "an event with a traceparent parses");
    KVT_EQ_STR(ed.traceparent, TP_OK, "and keeps it");
    kv_msg_destroy(&m);
    eh.traceparent[0] = '\0';
    m = kv_event_msg(&eh, "{}", 2);
    KVT_EQ_INT(kv_event_parse(m, &ed, &payload, &plen), KV_BUS_OK, "an event without one parses");
    KVT_EQ_STR(ed.traceparent, "", "with none");
    kv_msg_destroy(&m);
    return kvt_done();
}
