/*
 * gw_static.c -- the console's static files (see gw_console.h).
 *
 * Every regular file under KAIVOX_CONSOLE_DIR is read once at start-up into
 * one table (relative path, bytes, type, ETag); a request is answered from
 * it without touching the disk, so a path can only ever name a file that
 * was there at start-up ("..", symbolic links out of the directory and the
 * like cannot reach anything else).  A path whose last segment has no dot
 * (/console/, /console/settings, /console/calls/...) is a page of the
 * single-page application: index.html.
 *
 * Caching: every answer carries a strong ETag (the first 128 bits of the
 * SHA-256 of the bytes) and Cache-Control: no-cache, so browsers keep the
 * files but ask each time (304, no body, when unchanged): after an upgrade
 * nobody runs yesterday's script against today's API.  Every console answer
 * carries a strict Content-Security-Policy (only this origin's scripts,
 * styles and images; no inline script or style; no framing), nosniff and
 * Referrer-Policy: same-origin.
 */
#include "gw_console.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kv_crypto.h"
#include "kv_log.h"
#include "kv_mem.h"

const char *const gw_console_security_headers[] = {
    "Content-Security-Policy",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options", "nosniff",
    "Referrer-Policy", "same-origin",
    "X-Frame-Options", "DENY",
    "Cross-Origin-Opener-Policy", "same-origin",
    NULL, NULL
};

typedef struct {
    char *path;                  /* relative to the directory, "js/app.js" */
    unsigned char *data;
    size_t len;
    const char *type;            /* static string */
    char etag[40];               /* "\"<32 hex>\"" */
} s_file_t;

static s_file_t *s_files;
static int s_nfiles;
static size_t s_bytes;

static const struct { const char *ext, *type; } s_types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".txt", "text/plain; charset=utf-8" },
    { ".webmanifest", "application/manifest+json" },
    { NULL, NULL }
};

static const char *s_type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (int i = 0; dot && s_types[i].ext; i++)
        if (strcmp(dot, s_types[i].ext) == 0)
            return s_types[i].type;
    return "application/octet-stream";
}

/* Reads file full (relative name rel) into the table.  0 or -1. */
static int s_add(const char *full, const char *rel)
{
    FILE *f = fopen(full, "rb");
    if (!f)
        return -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
        s_bytes + (size_t)st.st_size > GW_STATIC_MAX_BYTES || s_nfiles >= GW_STATIC_MAX_FILES) {
        fclose(f);
        kv_error(NULL, "console: %s: not a regular file, or over the limits (%d files, %d bytes)",
                 rel, GW_STATIC_MAX_FILES, GW_STATIC_MAX_BYTES);
        return -1;
    }
    unsigned char *data = kv_malloc((size_t)st.st_size + 1);
    size_t n = fread(data, 1, (size_t)st.st_size, f);
    fclose(f);
    if (n != (size_t)st.st_size) {
        free(data);
        return -1;
    }
    s_files = kv_realloc(s_files, (size_t)(s_nfiles + 1) * sizeof *s_files);
    s_file_t *x = &s_files[s_nfiles++];
    x->path = kv_strdup(rel);
    x->data = data;
    x->len = n;
    x->type = s_type_of(rel);
    unsigned char d[32];
    kv_sha256(data, n, d);
    int o = snprintf(x->etag, sizeof x->etag, "\"");
    for (int i = 0; i < 16; i++)
        o += snprintf(x->etag + o, sizeof x->etag - (size_t)o, "%02x", d[i]);
    snprintf(x->etag + o, sizeof x->etag - (size_t)o, "\"");
    s_bytes += n;
    return 0;
}

/* Walks dir (relative prefix rel, "" at the top), depth at most 8. */
static int s_walk(const char *dir, const char *rel, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        kv_error(NULL, "console: cannot open %s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;                /* ., .., and hidden files */
        char full[4096], sub[1024];
        if (snprintf(full, sizeof full, "%s/%s", dir, e->d_name) >= (int)sizeof full ||
            snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >= (int)sizeof sub)
            continue;
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = depth < 8 ? s_walk(full, sub, depth + 1) : 0;
        else if (S_ISREG(st.st_mode))
            rc = s_add(full, sub);
    }
    closedir(d);
    return rc;
}

int gw_static_load(const char *dir)
{
    gw_static_free();
    if (s_walk(dir, "", 0) != 0) {
        gw_static_free();
        return -1;
    }
    int has_index = 0;
    for (int i = 0; i < s_nfiles; i++)
        has_index |= strcmp(s_files[i].path, "index.html") == 0;
    if (!has_index) {
        kv_error(NULL, "console: %s has no index.html", dir);
        gw_static_free();
        return -1;
    }
    kv_info(NULL, "console: %d files, %zu bytes from %s", s_nfiles, s_bytes, dir);
    return 0;
}

void gw_static_free(void)
{
    for (int i = 0; i < s_nfiles; i++) {
        free(s_files[i].path);
        free(s_files[i].data);
    }
    free(s_files);
    s_files = NULL;
    s_nfiles = 0;
    s_bytes = 0;
}

/* 1 when the If-None-Match list names etag (or is "*"). */
static int s_etag_match(const char *inm, const char *etag)
{
    if (!inm)
        return 0;
    size_t n = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

int gw_static_serve(gw_req_t *r, const char *path)
{
    const char *last = strrchr(path, '/');
    last = last ? last + 1 : path;
    const char *want = strchr(last, '.') ? path : "index.html";
    const s_file_t *f = NULL;
    for (int i = 0; i < s_nfiles && !f; i++)
        if (strcmp(s_files[i].path, want) == 0)
            f = &s_files[i];
    if (!f) {
        gw_reply_error(r, 404, s_nfiles ? "Route not found."
                                        : "Route not found: the console is not installed.");
        return GW_ANSWERED;
    }
    gw_req_add_header(r, MHD_HTTP_HEADER_ETAG, f->etag);
    gw_req_add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    if (s_etag_match(gw_req_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH), f->etag)) {
        gw_reply_static(r, 304, f->type, NULL, 0);
        return GW_ANSWERED;
    }
    gw_reply_static(r, 200, f->type, f->data, f->len);
    return GW_ANSWERED;
}
