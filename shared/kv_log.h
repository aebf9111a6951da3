/*
 * kv_log.h -- structured logging: one JSON object per line on stderr.
 *
 * Every line carries ts, level, service, and the request id and the W3C
 * trace id (kv_trace.h) when there are: one request can be followed across
 * processes with grep on either.  Never pass an API key, a secret, a phone number or an e-mail address
 * to these functions: log ids instead.
 */
#ifndef KV_LOG_H
#define KV_LOG_H

typedef enum { KV_LOG_DEBUG = 0, KV_LOG_INFO, KV_LOG_WARN, KV_LOG_ERROR } kv_log_level_t;

/* Sets the service name and reads KAIVOX_LOG_LEVEL (debug|info|warn|error,
 * default info).  Call once from main() before any thread starts. */
void kv_log_init(const char *service);

/* Logs msg (printf format) at level.  req_id may be NULL.  Thread-safe:
 * each line is written with one write(2). */
void kv_log(kv_log_level_t level, const char *req_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets (trace_id: 32 lowercase hex digits) or clears (NULL) the trace id
 * every line this thread logs carries from now on ("trace_id", after
 * "request_id").  Thread-local; kv_trace_set_current() calls it. */
void kv_log_set_trace(const char *trace_id);

#define kv_debug(rid, ...) kv_log(KV_LOG_DEBUG, (rid), __VA_ARGS__)
#define kv_info(rid, ...)  kv_log(KV_LOG_INFO, (rid), __VA_ARGS__)
#define kv_warn(rid, ...)  kv_log(KV_LOG_WARN, (rid), __VA_ARGS__)
#define kv_error(rid, ...) kv_log(KV_LOG_ERROR, (rid), __VA_ARGS__)

#endif
