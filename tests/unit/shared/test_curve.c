/*
 * test_curve.c -- the bus's keys and the ZAP handler (shared/kv_curve.c):
 * keygen writes a pair per role with the right modes and keeps existing
 * ones; the gateway admits every <role>.pub of its directory as that role;
 * the ZAP decision admits a known key on the bus and the event input, only
 * the consumer's key on the event output, and refuses unknown keys, other
 * mechanisms and malformed requests; and, with real sockets and the ZAP
 * thread, a client with a known key gets through with its role as the
 * User-Id of every message while a client without CURVE, or with a key of
 * its own, never gets a message through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "kv_curve.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_msg.h"
#include "../../lib/kvt.h"

static char s_dir[256];
static char s_next_pub[41];       /* crm's second key, crm.next.pub (a rotation) */

static char *s_read(const char *name)
{
    char path[512], buf[128];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return strdup(buf);
}

static int s_mode(const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static void test_keygen(void)
{
    char err[256];
    int created = -1;
    const char *roles[] = { "gateway", "crm", "webhooks", NULL };
    for (int i = 0; roles[i]; i++) {
        KVT_EQ_INT(kv_curve_keygen(s_dir, roles[i], &created, err, sizeof err), 0,
                   "keygen makes %s's pair", roles[i]);
        KVT_EQ_INT(created, 1, "a new one");
    }
    KVT_EQ_INT(s_mode("crm.key"), 0600, "the secret key is readable by its owner only");
    KVT_EQ_INT(s_mode("crm.pub"), 0644, "the public key by anyone");
    char *sec = s_read("crm.key"), *pub = s_read("crm.pub");
    char derived[41] = "";
    KVT_OK(sec && pub && strlen(sec) == 40 && zmq_curve_public(derived, sec) == 0 &&
           strcmp(derived, pub) == 0, "the .pub is the public half of the .key");
    KVT_EQ_INT(kv_curve_keygen(s_dir, "crm", &created, err, sizeof err), 0, "keygen again");
    char *sec2 = s_read("crm.key");
    KVT_OK(created == 0 && sec && sec2 && strcmp(sec, sec2) == 0, "keeps the existing key");
    char path[512];
    snprintf(path, sizeof path, "%s/crm.pub", s_dir);
    unlink(path);
    kv_curve_keygen(s_dir, "crm", &created, err, sizeof err);
    char *pub2 = s_read("crm.pub");
    KVT_OK(created == 0 && pub2 && pub && strcmp(pub, pub2) == 0,
           "and writes a lost .pub again from it");
    KVT_EQ_INT(kv_curve_keygen(s_dir, "../evil", &created, err, sizeof err), -1,
               "a role that is not a name is refused");
    free(sec);
    free(sec2);
    free(pub);
    free(pub2);
}

/* A ZAP request of mechanism mech with credential key[klen], for domain. */
static kv_msg_t *s_zap_req(const char *version, const char *domain, const char *mech,
                           const void *key, size_t klen)
{
    kv_msg_t *m = kv_msg_new();
    kv_msg_addstr(m, version);
    kv_msg_addstr(m, "req-1");
    kv_msg_addstr(m, domain);
    kv_msg_addstr(m, "10.0.0.9");
    kv_msg_add(m, "", 0);
    kv_msg_addstr(m, mech);
    if (key)
        kv_msg_add(m, key, klen);
    return m;
}

/* The status code and user id of kv_zap_reply(req); frees req. */
static void s_decide(kv_msg_t *req, char code[8], char user[40])
{
    kv_msg_t *r = kv_zap_reply(req);
    size_t n;
    const char *c = r ? kv_msg_data(r, 2, &n) : NULL;
    snprintf(code, 8, "%.*s", c ? (int)n : 0, c ? c : "");
    const char *u = r ? kv_msg_data(r, 4, &n) : NULL;
    snprintf(user, 40, "%.*s", u ? (int)n : 0, u ? u : "");
    const char *id = r ? kv_msg_data(r, 1, &n) : NULL;
    if (id && !(n == 5 && memcmp(id, "req-1", 5) == 0))
        snprintf(code, 8, "badid");
    kv_msg_destroy(&r);
    kv_msg_destroy(&req);
}

static void test_zap(void)
{
    uint8_t crm[32], hooks[32], stranger[32];
    char *z = s_read("crm.pub");
    zmq_z85_decode(crm, z);
    free(z);
    z = s_read("webhooks.pub");
    zmq_z85_decode(hooks, z);
    free(z);
    char spub[41], ssec[41];
    zmq_curve_keypair(spub, ssec);
    zmq_z85_decode(stranger, spub);

    char code[8], user[40];
    s_decide(s_zap_req("1.0", KV_ZAP_BUS, "CURVE", crm, 32), code, user);
    KVT_OK(strcmp(code, "200") == 0 && strcmp(user, "crm") == 0,
           "crm's key is admitted on the bus as crm (%s %s)", code, user);
    s_decide(s_zap_req("1.0", KV_ZAP_EVENTS_IN, "CURVE", crm, 32), code, user);
    KVT_OK(strcmp(code, "200") == 0 && strcmp(user, "crm") == 0, "and on the event input");
    s_decide(s_zap_req("1.0", KV_ZAP_EVENTS_OUT, "CURVE", crm, 32), code, user);
    KVT_OK(strcmp(code, "400") == 0 && user[0] == '\0', "but not on the event output (%s)", code);
    s_decide(s_zap_req("1.0", KV_ZAP_EVENTS_OUT, "CURVE", hooks, 32), code, user);
    KVT_OK(strcmp(code, "200") == 0 && strcmp(user, "webhooks") == 0,
           "the event output admits the consumer's key only");
    s_decide(s_zap_req("1.0", KV_ZAP_BUS, "CURVE", stranger, 32), code, user);
    KVT_EQ_STR(code, "400", "a key of nobody's is refused");
    uint8_t next[32];
    zmq_z85_decode(next, s_next_pub);
    s_decide(s_zap_req("1.0", KV_ZAP_BUS, "CURVE", next, 32), code, user);
    KVT_OK(strcmp(code, "200") == 0 && strcmp(user, "crm") == 0,
           "crm.next.pub is admitted as crm too (a key being replaced)");
    s_decide(s_zap_req("1.0", "another-domain", "CURVE", crm, 32), code, user);
    KVT_EQ_STR(code, "400", "a domain the gateway does not serve admits nobody");
    s_decide(s_zap_req("1.0", KV_ZAP_BUS, "NULL", NULL, 0), code, user);
    KVT_EQ_STR(code, "400", "the NULL mechanism is refused");
    s_decide(s_zap_req("1.0", KV_ZAP_BUS, "PLAIN", "user", 4), code, user);
    KVT_EQ_STR(code, "400", "so is PLAIN");
    s_decide(s_zap_req("1.0", KV_ZAP_BUS, "CURVE", crm, 31), code, user);
    KVT_EQ_STR(code, "400", "a credential of the wrong size is refused");
    s_decide(s_zap_req("2.0", KV_ZAP_BUS, "CURVE", crm, 32), code, user);
    KVT_EQ_STR(code, "500", "another ZAP version is a malformed request");
    kv_msg_t *tiny = kv_msg_new();
    kv_msg_addstr(tiny, "1.0");
    kv_msg_t *r = kv_zap_reply(tiny);
    size_t n = 0;
    const char *c = r ? kv_msg_data(r, 2, &n) : NULL;
    KVT_OK(c && n == 3 && memcmp(c, "500", 3) == 0, "so is a truncated one");
    kv_msg_destroy(&r);
    kv_msg_destroy(&tiny);
}

/* Sends "ping" from a DEALER set up by setup() (NULL: plain) to the
 * ROUTER; returns the message the ROUTER got (caller owns) or NULL. */
static kv_msg_t *s_through(void *zmq, void *router, const char *ep, int (*setup)(void *, const char *),
                           const char *role)
{
    void *d = kv_msg_socket(zmq, ZMQ_DEALER);
    if (setup)
        setup(d, role);
    zmq_connect(d, ep);
    zmq_send(d, "ping", 4, 0);
    kv_msg_t *m = kv_msg_recv(router, 1500);
    zmq_close(d);
    return m;
}

static int s_as(void *sock, const char *role)
{
    return kv_curve_client_as(sock, role);
}

static int s_stranger(void *sock, const char *role)
{
    (void)role;
    char pub[41], sec[41], gw[41];
    zmq_curve_keypair(pub, sec);
    char *g = s_read("gateway.pub");
    snprintf(gw, sizeof gw, "%s", g ? g : "");
    free(g);
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, gw, 40);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 40);
    return zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40);
}

static void test_sockets(void)
{
    void *zmq = zmq_ctx_new();
    KVT_EQ_INT(kv_zap_start(zmq), 0, "the ZAP handler starts");
    void *router = kv_msg_socket(zmq, ZMQ_ROUTER);
    KVT_EQ_INT(kv_curve_server(router, KV_ZAP_BUS), 0, "the ROUTER is a CURVE server");
    const char *ep = "tcp://127.0.0.1:41993";
    KVT_EQ_INT(zmq_bind(router, ep), 0, "and binds");

    kv_msg_t *m = s_through(zmq, router, ep, s_as, "crm");
    KVT_OK(m != NULL, "a client with crm's key gets through");
    KVT_EQ_STR(m ? kv_msg_user(m) : "", "crm", "its messages carry its role");
    kv_msg_destroy(&m);
    m = s_through(zmq, router, ep, NULL, NULL);
    KVT_OK(m == NULL, "a client without CURVE gets nothing through");
    kv_msg_destroy(&m);
    m = s_through(zmq, router, ep, s_stranger, NULL);
    KVT_OK(m == NULL, "nor does a client with a key of its own");
    kv_msg_destroy(&m);

    zmq_close(router);
    zmq_ctx_shutdown(zmq);
    zmq_ctx_term(zmq);
}

int main(void)
{
    kv_log_init("test");
    snprintf(s_dir, sizeof s_dir, "/tmp/kvt-curve-%ld", (long)getpid());
    test_keygen();
    char sec[41], path[512];
    zmq_curve_keypair(s_next_pub, sec);
    snprintf(path, sizeof path, "%s/crm.next.pub", s_dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s\n", s_next_pub);
        fclose(f);
    }
    setenv("KAIVOX_BUS_KEYS", s_dir, 1);
    unsetenv("KAIVOX_BUS_INSECURE");
    KVT_EQ_INT(kv_curve_init(KV_CURVE_GATEWAY), 0, "the gateway loads its key and the roles it admits");
    KVT_OK(kv_curve_secure(), "the bus is authenticated");
    test_zap();
    test_sockets();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", s_dir);
    return kvt_done();
}
