/*
 * kv_metrics_http.c -- the metrics listener of a service process: GET
 * /metrics from one libmicrohttpd thread of its own (see kv_metrics.h).
 *
 * It is off the public port and off the bus: a Prometheus server scrapes
 * it at KAIVOX_METRICS_ADDR.  A scrape renders the registry (and runs its
 * scrape callbacks) on this thread; the request path of the service never
 * waits for it.  libmicrohttpd's own messages go through kv_log, the
 * logger given first so that not one of them reaches stderr raw.
 */
#include "kv_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kv_log.h"
#include "kv_mem.h"

#define S_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct kv_metrics_http {
    struct MHD_Daemon *daemon;
};

int kv_metrics_parse_addr(const char *addr, char *host, size_t cap, int *port)
{
    if (!addr || !*addr)
        return -1;
    const char *colon;
    const char *h = addr;
    size_t hlen;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -1;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || strchr(addr, ':') != colon)
            return -1;
        hlen = (size_t)(colon - addr);
    }
    if (hlen == 0 || hlen >= cap)
        return -1;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p < 1 || p > 65535)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    (void)cls;
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    kv_debug(NULL, "metrics listener: libmicrohttpd: %s", buf);
}

static enum MHD_Result s_answer(struct MHD_Connection *c, unsigned status, const char *text,
                                int must_free, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, (void *)text, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            status == 200 ? S_CONTENT_TYPE : "text/plain; charset=utf-8");
    if (status == 405)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version,
                                const char *upload, size_t *upload_size, void **con_cls)
{
    static int marker;
    (void)cls;
    (void)version;
    (void)upload;
    if (!*con_cls) {              /* headers only: wait for the whole request */
        *con_cls = &marker;
        return MHD_YES;
    }
    if (*upload_size) {           /* a body nobody asked for: dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0)
        return s_answer(c, 404, "Not found.\n", 0, 11);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return s_answer(c, 405, "Method not allowed.\n", 0, 20);
    size_t len = 0;
    char *text = kv_metrics_render(&len);
    return s_answer(c, 200, text, 1, len);
}

kv_metrics_http_t *kv_metrics_http_start(const char *addr, int *failed)
{
    if (failed)
        *failed = 0;
    if (!addr || !*addr)
        return NULL;
    char host[64];
    int port = 0;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (kv_metrics_parse_addr(addr, host, sizeof host, &port) != 0)
        goto bad;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        goto bad;
    }
    /* the logger first: libmicrohttpd warns about every option parsed
     * before it (on stderr, raw) */
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, s_access, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
        MHD_OPTION_END);
    if (!d) {
        kv_error(NULL, "metrics listener: cannot listen on %s: %s", addr, strerror(errno));
        if (failed)
            *failed = 1;
        return NULL;
    }
    kv_metrics_http_t *h = kv_calloc(1, sizeof *h);
    h->daemon = d;
    kv_info(NULL, "metrics listener on %s (GET /metrics)", addr);
    return h;
bad:
    kv_error(NULL, "KAIVOX_METRICS_ADDR: expected host:port with a numeric address, "
             "e.g. 127.0.0.1:9464 or [::1]:9464");
    if (failed)
        *failed = 1;
    return NULL;
}

void kv_metrics_http_stop(kv_metrics_http_t **ph)
{
    if (!ph || !*ph)
        return;
    MHD_stop_daemon((*ph)->daemon);
    free(*ph);
    *ph = NULL;
}
