/*
 * kv_curve.c -- CURVE keys and the ZAP handler of the bus (kv_curve.h).
 *
 * The process's keys are read once by kv_curve_init into the static state
 * below and never change afterwards, so the socket helpers and the ZAP
 * thread read them without a lock.  Secret keys stay in this file: the
 * socket options copy them into ZeroMQ and nothing else ever sees them (no
 * log line carries a key, public or secret; refusals name the peer's
 * address and the ZAP domain).
 *
 * The ZAP handler (RFC 27) is a REP socket on inproc://zeromq.zap.01 served
 * by one thread; ZeroMQ asks it once per handshake, never per message, so
 * it costs nothing on the request path.  Its decision is kv_zap_reply(), a
 * pure function of the request and the loaded keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "kv_curve.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_mem.h"

#define S_PATH_MAX 1024
#define S_REFUSE_LOG_MS 10000

typedef struct {
    char role[KV_CURVE_ROLE_MAX + 1];
    uint8_t key[32];                  /* public key, binary */
} s_admitted_t;

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int done;                         /* kv_curve_init ran */
    int rc;                           /* its result */
    int secure;                       /* 1: CURVE on */
    char role[KV_CURVE_ROLE_MAX + 1];
    char dir[S_PATH_MAX];             /* KAIVOX_BUS_KEYS */
    char pub[KV_CURVE_Z85_LEN + 1];   /* this process's keypair, Z85 */
    char sec[KV_CURVE_Z85_LEN + 1];
    char gw_pub[KV_CURVE_Z85_LEN + 1];/* the gateway's public key (not the gateway) */
    int nadmit;                       /* the gateway: roles it admits */
    s_admitted_t admit[KV_CURVE_ROLES_MAX];
} s;

/* A role name: 1..KV_CURVE_ROLE_MAX of [a-z0-9_-]. */
static int s_role_ok(const char *r, size_t len)
{
    if (len == 0 || len > KV_CURVE_ROLE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = r[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Reads the Z85 key of file dir/name into out[41] (trailing white space
 * ignored) and checks that it decodes.  0, or -1 with the reason in why. */
static int s_read_key(const char *dir, const char *name, char out[KV_CURVE_Z85_LEN + 1],
                      char *why, size_t wlen)
{
    char path[S_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, wlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char buf[128];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                     buf[n - 1] == '\t'))
        buf[--n] = '\0';
    uint8_t bin[32];
    if (n != KV_CURVE_Z85_LEN || !zmq_z85_decode(bin, buf)) {
        snprintf(why, wlen, "%s is not a CURVE key (40 characters of Z85 text)", path);
        return -1;
    }
    memcpy(out, buf, KV_CURVE_Z85_LEN + 1);
    return 0;
}

/* The gateway: every <role>.pub of the directory but its own, admitted as
 * that role.  0 or -1 (why). */
static int s_load_admitted(char *why, size_t wlen)
{
    DIR *d = opendir(s.dir);
    if (!d) {
        snprintf(why, wlen, "cannot read the directory %s: %s", s.dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || strcmp(e->d_name + len - 4, ".pub") != 0)
            continue;
        /* the role is the name up to its first dot: crm.pub and, during a
         * key rotation, crm.next.pub are both crm's */
        len = strcspn(e->d_name, ".");
        if (!s_role_ok(e->d_name, len)) {
            kv_warn(NULL, "bus keys: %s ignored (a role is 1 to %d characters of a-z, 0-9, _ and -)",
                    e->d_name, KV_CURVE_ROLE_MAX);
            continue;
        }
        if (len == strlen(KV_CURVE_GATEWAY) && memcmp(e->d_name, KV_CURVE_GATEWAY, len) == 0)
            continue;
        if (s.nadmit == KV_CURVE_ROLES_MAX) {
            snprintf(why, wlen, "more than %d public keys in %s", KV_CURVE_ROLES_MAX, s.dir);
            rc = -1;
            break;
        }
        char z[KV_CURVE_Z85_LEN + 1];
        if (s_read_key(s.dir, e->d_name, z, why, wlen) != 0) {
            rc = -1;
            break;
        }
        s_admitted_t *a = &s.admit[s.nadmit++];
        memcpy(a->role, e->d_name, len);
        a->role[len] = '\0';
        zmq_z85_decode(a->key, z);
    }
    closedir(d);
    if (rc == 0 && s.nadmit == 0) {
        snprintf(why, wlen, "no service public key (<role>.pub) in %s: the gateway would admit nobody",
                 s.dir);
        rc = -1;
    }
    return rc;
}

static int s_init(const char *role)
{
    char why[S_PATH_MAX + 128] = "";
    if (!role || !s_role_ok(role, strlen(role))) {
        kv_error(NULL, "bus keys: no valid role given");
        return -1;
    }
    snprintf(s.role, sizeof s.role, "%s", role);
    const char *insecure = kv_env_str("KAIVOX_BUS_INSECURE", "0");
    if (strcmp(insecure, "1") == 0) {
        kv_warn(NULL, "THE BUS IS NOT AUTHENTICATED (KAIVOX_BUS_INSECURE=1): anything that reaches "
                "its ports can register as a worker, send requests, publish or read events. "
                "Development only");
        return 0;
    }
    if (strcmp(insecure, "0") != 0) {
        kv_error(NULL, "KAIVOX_BUS_INSECURE must be 0 or 1");
        return -1;
    }
    if (!zmq_has("curve")) {
        kv_error(NULL, "this libzmq has no CURVE security (built without libsodium)");
        return -1;
    }
    snprintf(s.dir, sizeof s.dir, "%s", kv_env_str("KAIVOX_BUS_KEYS", "var/keys"));
    char name[KV_CURVE_ROLE_MAX + 8];
    snprintf(name, sizeof name, "%s.key", role);
    if (s_read_key(s.dir, name, s.sec, why, sizeof why) != 0 ||
        zmq_curve_public(s.pub, s.sec) != 0)
        goto fail;
    if (strcmp(role, KV_CURVE_GATEWAY) == 0) {
        if (s_load_admitted(why, sizeof why) != 0)
            goto fail;
        char roles[KV_CURVE_ROLES_MAX * (KV_CURVE_ROLE_MAX + 1) + 1] = "";
        for (int i = 0; i < s.nadmit; i++) {
            strcat(roles, i ? "," : "");
            strcat(roles, s.admit[i].role);
        }
        kv_info(NULL, "bus: CURVE on, admitting %d roles (%s) from %s", s.nadmit, roles, s.dir);
    } else {
        if (s_read_key(s.dir, KV_CURVE_GATEWAY ".pub", s.gw_pub, why, sizeof why) != 0)
            goto fail;
        kv_info(NULL, "bus: CURVE on, role %s, keys from %s", role, s.dir);
    }
    s.secure = 1;
    return 0;
fail:
    kv_error(NULL, "bus keys: %s (KAIVOX_BUS_KEYS; `kaivoxctl keygen --dir DIR` makes them, "
             "make run/up do it under var/keys)", why[0] ? why : "unreadable");
    memset(s.sec, 0, sizeof s.sec);
    return -1;
}

int kv_curve_init(const char *role)
{
    pthread_mutex_lock(&s_mu);
    if (!s.done) {
        s.rc = s_init(role);
        s.done = 1;
    }
    int rc = s.rc;
    pthread_mutex_unlock(&s_mu);
    return rc;
}

int kv_curve_ready(void)
{
    return s.done && s.rc == 0;
}

int kv_curve_secure(void)
{
    return s.done && s.rc == 0 && s.secure;
}

const char *kv_curve_role(void)
{
    return s.done ? s.role : "";
}

static int s_set(void *sock, int opt, const void *v, size_t len, const char *what)
{
    if (zmq_setsockopt(sock, opt, v, len) == 0)
        return 0;
    kv_error(NULL, "bus: cannot set %s: %s", what, zmq_strerror(zmq_errno()));
    return -1;
}

static int s_client(void *sock, const char *pub, const char *sec)
{
    if (s_set(sock, ZMQ_CURVE_SERVERKEY, s.gw_pub, KV_CURVE_Z85_LEN, "ZMQ_CURVE_SERVERKEY") ||
        s_set(sock, ZMQ_CURVE_PUBLICKEY, pub, KV_CURVE_Z85_LEN, "ZMQ_CURVE_PUBLICKEY") ||
        s_set(sock, ZMQ_CURVE_SECRETKEY, sec, KV_CURVE_Z85_LEN, "ZMQ_CURVE_SECRETKEY"))
        return -1;
    return 0;
}

int kv_curve_client(void *sock)
{
    if (!s.done || s.rc != 0) {
        kv_error(NULL, "bus: a client socket before the bus keys were loaded (kv_curve_init)");
        return -1;
    }
    if (!s.secure)
        return 0;
    return s_client(sock, s.pub, s.sec);
}

int kv_curve_client_as(void *sock, const char *role)
{
    if (!s.done || s.rc != 0) {
        kv_error(NULL, "bus: kv_curve_client_as before the bus keys were loaded (kv_curve_init)");
        return -1;
    }
    if (!s.secure)
        return 0;
    char why[S_PATH_MAX + 128], name[KV_CURVE_ROLE_MAX + 8];
    char pub[KV_CURVE_Z85_LEN + 1], sec[KV_CURVE_Z85_LEN + 1];
    if (!role || !s_role_ok(role, strlen(role))) {
        kv_error(NULL, "bus keys: invalid role");
        return -1;
    }
    snprintf(name, sizeof name, "%s.key", role);
    if (!s.gw_pub[0] &&
        s_read_key(s.dir, KV_CURVE_GATEWAY ".pub", s.gw_pub, why, sizeof why) != 0) {
        kv_error(NULL, "bus keys: %s", why);
        return -1;
    }
    if (s_read_key(s.dir, name, sec, why, sizeof why) != 0 || zmq_curve_public(pub, sec) != 0) {
        kv_error(NULL, "bus keys: %s", why);
        return -1;
    }
    int rc = s_client(sock, pub, sec);
    memset(sec, 0, sizeof sec);
    return rc;
}

int kv_curve_server(void *sock, const char *domain)
{
    if (!s.done || s.rc != 0 || strcmp(s.role, KV_CURVE_GATEWAY) != 0) {
        kv_error(NULL, "bus: a server socket outside the gateway, or before its keys were loaded");
        return -1;
    }
    if (!s.secure)
        return 0;
    int one = 1;
    if (s_set(sock, ZMQ_CURVE_SERVER, &one, sizeof one, "ZMQ_CURVE_SERVER") ||
        s_set(sock, ZMQ_CURVE_SECRETKEY, s.sec, KV_CURVE_Z85_LEN, "ZMQ_CURVE_SECRETKEY") ||
        s_set(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain), "ZMQ_ZAP_DOMAIN"))
        return -1;
    return 0;
}

/* ---- ZAP ------------------------------------------------------------------ */

/* Does domain admit role? */
static int s_domain_admits(const char *domain, size_t dlen, const char *role)
{
    if ((dlen == strlen(KV_ZAP_BUS) && memcmp(domain, KV_ZAP_BUS, dlen) == 0) ||
        (dlen == strlen(KV_ZAP_EVENTS_IN) && memcmp(domain, KV_ZAP_EVENTS_IN, dlen) == 0))
        return 1;
    if (dlen == strlen(KV_ZAP_EVENTS_OUT) && memcmp(domain, KV_ZAP_EVENTS_OUT, dlen) == 0)
        return strcmp(role, KV_CURVE_CONSUMER) == 0;
    return 0;
}

/* The role whose public key is key[32], NULL when none. */
static const char *s_role_of(const uint8_t *key)
{
    for (int i = 0; i < s.nadmit; i++)
        if (memcmp(s.admit[i].key, key, 32) == 0)
            return s.admit[i].role;
    return NULL;
}

static kv_msg_t *s_zap_answer(const char *reqid, size_t rlen, const char *code, const char *text,
                              const char *user)
{
    kv_msg_t *m = kv_msg_new();
    kv_msg_addstr(m, "1.0");
    kv_msg_add(m, reqid, rlen);
    kv_msg_addstr(m, code);
    kv_msg_addstr(m, text);
    kv_msg_addstr(m, user);
    kv_msg_add(m, "", 0);
    return m;
}

kv_msg_t *kv_zap_reply(const kv_msg_t *req)
{
    size_t n = kv_msg_size(req), vlen = 0, rlen = 0, dlen = 0, mlen = 0, klen = 0;
    const char *ver = kv_msg_data(req, 0, &vlen);
    const char *reqid = kv_msg_data(req, 1, &rlen);
    if (n < 6 || !ver || vlen != 3 || memcmp(ver, "1.0", 3) != 0)
        return s_zap_answer(reqid ? reqid : "", reqid ? rlen : 0, "500", "Malformed ZAP request", "");
    const char *domain = kv_msg_data(req, 2, &dlen);
    const char *mech = kv_msg_data(req, 5, &mlen);
    const char *key = kv_msg_data(req, 6, &klen);
    if (mlen != 5 || memcmp(mech, "CURVE", 5) != 0 || n != 7 || klen != 32)
        return s_zap_answer(reqid, rlen, "400", "CURVE only", "");
    const char *role = s_role_of((const uint8_t *)key);
    if (!role)
        return s_zap_answer(reqid, rlen, "400", "Unknown key", "");
    if (!s_domain_admits(domain, dlen, role))
        return s_zap_answer(reqid, rlen, "400", "Not admitted here", "");
    return s_zap_answer(reqid, rlen, "200", "OK", role);
}

static void *s_zap_thread(void *arg)
{
    void *rep = arg;
    int64_t logged = 0;
    long refused = 0;
    for (;;) {
        kv_msg_t *req = kv_msg_recv(rep, -1);
        if (!req) {
            if (zmq_errno() == ETERM)
                break;
            continue;
        }
        kv_msg_t *ans = kv_zap_reply(req);
        size_t clen;
        const char *code = kv_msg_data(ans, 2, &clen);
        if (clen != 3 || memcmp(code, "200", 3) != 0) {
            /* at most one line per S_REFUSE_LOG_MS, however many try */
            refused++;
            int64_t now = kv_mono_ms();
            if (!logged || now - logged >= S_REFUSE_LOG_MS) {
                size_t dlen = 0, alen = 0;
                const char *domain = kv_msg_data(req, 2, &dlen);
                const char *addr = kv_msg_data(req, 3, &alen);
                kv_warn(NULL, "bus: refused %ld connection(s); the last from %.*s to %.*s: %s",
                        refused, (int)(alen < 64 ? alen : 64), addr ? addr : "",
                        (int)(dlen < 32 ? dlen : 32), domain ? domain : "",
                        kv_msg_data(ans, 3, NULL));
                logged = now;
                refused = 0;
            }
        }
        if (kv_msg_send(ans, rep) != 0 && zmq_errno() == ETERM) {
            kv_msg_destroy(&ans);
            kv_msg_destroy(&req);
            break;
        }
        kv_msg_destroy(&ans);
        kv_msg_destroy(&req);
    }
    zmq_close(rep);
    return NULL;
}

int kv_zap_start(void *zmq_ctx)
{
    if (!s.done || s.rc != 0) {
        kv_error(NULL, "bus: the ZAP handler before the bus keys were loaded");
        return -1;
    }
    if (!s.secure)
        return 0;
    void *rep = zmq_socket(zmq_ctx, ZMQ_REP);
    int linger = 0;
    if (!rep) {
        kv_error(NULL, "bus: ZAP socket: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    zmq_setsockopt(rep, ZMQ_LINGER, &linger, sizeof linger);
    /* No ZMQ_MAXMSGSIZE here: only libzmq itself speaks on this inproc
     * endpoint (one ZAP request per handshake, from a peer whose frames
     * were already bounded by the socket it reached: kv_msg_socket). */
    if (zmq_bind(rep, "inproc://zeromq.zap.01") != 0) {
        kv_error(NULL, "bus: cannot bind the ZAP handler: %s", zmq_strerror(zmq_errno()));
        zmq_close(rep);
        return -1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, s_zap_thread, rep) != 0) {
        kv_error(NULL, "bus: cannot start the ZAP thread");
        zmq_close(rep);
        return -1;
    }
    pthread_detach(t);
    return 0;
}

/* ---- key generation ------------------------------------------------------- */

/* Writes text to dir/name with mode, through a temporary file.  0 or -1
 * (err). */
static int s_write_file(const char *dir, const char *name, const char *text, mode_t mode,
                        char *err, size_t errlen)
{
    char path[S_PATH_MAX], tmp[S_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len && fchmod(fd, mode) == 0 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int kv_curve_keygen(const char *dir, const char *role, int *created, char *err, size_t errlen)
{
    char pub[KV_CURVE_Z85_LEN + 1], sec[KV_CURVE_Z85_LEN + 1], line[KV_CURVE_Z85_LEN + 2];
    char name[KV_CURVE_ROLE_MAX + 8], why[S_PATH_MAX + 128];
    int rc = -1;
    *created = 0;
    if (!role || !s_role_ok(role, strlen(role))) {
        snprintf(err, errlen, "a role is 1 to %d characters of a-z, 0-9, _ and -", KV_CURVE_ROLE_MAX);
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(name, sizeof name, "%s.key", role);
    char path[S_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (access(path, F_OK) == 0) {
        if (s_read_key(dir, name, sec, why, sizeof why) != 0 || zmq_curve_public(pub, sec) != 0) {
            snprintf(err, errlen, "%s", why);
            goto out;
        }
    } else {
        if (zmq_curve_keypair(pub, sec) != 0) {
            snprintf(err, errlen, "zmq_curve_keypair: %s", zmq_strerror(zmq_errno()));
            goto out;
        }
        snprintf(line, sizeof line, "%s\n", sec);
        if (s_write_file(dir, name, line, 0600, err, errlen) != 0)
            goto out;
        *created = 1;
    }
    snprintf(name, sizeof name, "%s.pub", role);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char have[KV_CURVE_Z85_LEN + 1];
    if (*created || s_read_key(dir, name, have, why, sizeof why) != 0 || strcmp(have, pub) != 0) {
        snprintf(line, sizeof line, "%s\n", pub);
        if (s_write_file(dir, name, line, 0644, err, errlen) != 0)
            goto out;
    }
    rc = 0;
out:
    memset(sec, 0, sizeof sec);
    memset(line, 0, sizeof line);
    return rc;
}
