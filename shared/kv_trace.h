/*
 * kv_trace.h -- W3C Trace Context (level 1): the traceparent and tracestate
 * headers, parsed, validated and formatted, and the trace of the request a
 * thread is serving now.
 *
 *   traceparent: 00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>
 *
 * Every hop (the gateway, each service serving a bus request, each webhook
 * delivery attempt) is a span of its own: it keeps the trace id and the
 * flags, takes a new span id, and sends its own span id as the parent-id of
 * what it calls.  An invalid traceparent is ignored (a new trace starts),
 * never an error; tracestate travels only beside a valid traceparent.
 * Pure code but the per-thread "current" trace; unit-tested in
 * tests/unit/shared/test_trace.c.
 */
#ifndef KV_TRACE_H
#define KV_TRACE_H

#include <stddef.h>

#define KV_TRACE_ID_LEN      32     /* hex digits of a trace id */
#define KV_SPAN_ID_LEN       16     /* hex digits of a span (parent) id */
#define KV_TRACEPARENT_LEN   55     /* "00-" 32 "-" 16 "-" 2 */
#define KV_TRACESTATE_MAX    512    /* longer tracestate values are dropped */

typedef struct {
    char trace_id[KV_TRACE_ID_LEN + 1];  /* lowercase hex, "" when no trace */
    char span_id[KV_SPAN_ID_LEN + 1];    /* this hop's span */
    char parent_id[KV_SPAN_ID_LEN + 1];  /* the caller's span, "" when we began it */
    unsigned flags;                      /* trace-flags (bit 0: sampled) */
    char state[KV_TRACESTATE_MAX + 1];   /* tracestate as received, "" none */
} kv_trace_t;

/* Parses a traceparent value (s, len bytes).  Returns 0 and fills
 * trace_id, parent_id and flags of *t when it is valid per level 1 (version
 * 00 exactly 55 characters; a higher version at least 55 with '-' after the
 * flags; version ff, an all-zero trace or parent id, uppercase hex refused);
 * -1 otherwise (*t untouched). */
int kv_traceparent_parse(const char *s, size_t len, kv_trace_t *t);

/* 1 when s (len bytes) is a valid tracestate list (level 1: at most 32
 * comma-separated key=value members, keys and values of the allowed
 * characters and lengths, empty members allowed), else 0. */
int kv_tracestate_valid(const char *s, size_t len);

/* Starts this hop's span: from the caller's traceparent (and tracestate)
 * when the traceparent is valid, else a new trace (flags 01).  tp/ts may be
 * NULL.  Always fills *t with a fresh span id. */
void kv_trace_begin(kv_trace_t *t, const char *tp, const char *ts);

/* Writes "00-<trace>-<span>-<flags>" (the header a callee receives: our
 * span is its parent) into out[KV_TRACEPARENT_LEN + 1].  t must have a
 * trace id. */
void kv_traceparent_format(const kv_trace_t *t, char out[KV_TRACEPARENT_LEN + 1]);

/* Random lowercase hex of n digits (n even) into out[n + 1], never all zero. */
void kv_trace_random_hex(char *out, size_t n);

/* The trace of the request this thread is serving (every kv_log line of
 * the thread then carries its trace_id), or NULL.  set copies *t; clear
 * forgets it.  Thread-local: no locks. */
void kv_trace_set_current(const kv_trace_t *t);
void kv_trace_clear_current(void);
const kv_trace_t *kv_trace_current(void);

#endif
