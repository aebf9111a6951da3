/*
 * test_disc.c -- discovery of the gateways (shared/kv_disc.c): endpoint
 * lists as the settings write them, a name standing for every address it
 * resolves to (IPv4 first, so a dual-stack host counts once), lookups that
 * fail for now keeping the previous addresses while a name that no longer
 * exists stands for none, the resolver thread publishing a change with a
 * new generation, and a PUB/SUB socket following the set (connecting to a
 * new gateway, leaving a vanished one) -- with a resolver of our own, so
 * the answers change when the test says.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "kv_disc.h"
#include "kv_env.h"
#include "kv_log.h"
#include "kv_msg.h"
#include "../../lib/kvt.h"

static void test_parse(void)
{
    kv_ep_spec_t sp[KV_EP_SPECS_MAX];
    KVT_EQ_INT(kv_ep_parse("tcp://127.0.0.1:7700", sp, KV_EP_SPECS_MAX), 1, "one numeric endpoint");
    KVT_OK(!sp[0].name && strcmp(sp[0].host, "127.0.0.1") == 0 && strcmp(sp[0].port, "7700") == 0,
           "its host and port, not a name");
    int n = kv_ep_parse(" tcp://gateway:7700 , tcp://[::1]:7703,ipc:///tmp/kv.sock,inproc://x ",
                        sp, KV_EP_SPECS_MAX);
    KVT_EQ_INT(n, 4, "a list with spaces around its entries");
    KVT_OK(n == 4 && sp[0].name && strcmp(sp[0].host, "gateway") == 0, "a host name is a name");
    KVT_OK(n == 4 && !sp[1].name && strcmp(sp[1].host, "::1") == 0 && strcmp(sp[1].port, "7703") == 0,
           "a bracketed IPv6 address is numeric");
    KVT_OK(n == 4 && strcmp(sp[2].text, "ipc:///tmp/kv.sock") == 0 && !sp[2].name,
           "ipc:// stands for itself");
    KVT_OK(n == 4 && strcmp(sp[3].text, "inproc://x") == 0, "inproc:// stands for itself");

    static const char *const bad[] = {
        "", " ", "tcp://", "tcp://host", "tcp://host:", "tcp://:7700", "tcp://host:0",
        "tcp://host:65536", "tcp://host:77a0", "tcp://::1:7700", "tcp://[::1]7700",
        "tcp://[zz]:7700", "udp://host:7700", "tcp://ho st:7700", "tcp://*:7700",
        "tcp://a:1,", ",tcp://a:1", "tcp://a:1,,tcp://b:2", "ipc://", NULL,
    };
    for (int i = 0; bad[i]; i++)
        KVT_EQ_INT(kv_ep_parse(bad[i], sp, KV_EP_SPECS_MAX), -1, "'%s' is refused", bad[i]);
    char many[4096] = "";
    for (int i = 0; i <= KV_EP_SPECS_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%stcp://h%d:1", i ? "," : "", i);
    KVT_EQ_INT(kv_ep_parse(many, sp, KV_EP_SPECS_MAX), -1, "more than %d entries are refused",
               KV_EP_SPECS_MAX);
}

static void test_sets(void)
{
    kv_eps_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    kv_eps_add(&a, "tcp://10.0.0.3:7700");
    kv_eps_add(&a, "tcp://10.0.0.1:7700");
    kv_eps_add(&a, "tcp://10.0.0.3:7700");
    kv_eps_add(&a, "tcp://10.0.0.2:7700");
    KVT_EQ_INT(a.n, 3, "a set keeps no duplicate");
    KVT_OK(strcmp(a.ep[0], "tcp://10.0.0.1:7700") == 0 && strcmp(a.ep[2], "tcp://10.0.0.3:7700") == 0,
           "and is sorted");
    KVT_OK(kv_eps_has(&a, "tcp://10.0.0.2:7700") && !kv_eps_has(&a, "tcp://10.0.0.4:7700"),
           "has() tells members from others");
    kv_eps_add(&b, "tcp://10.0.0.2:7700");
    kv_eps_add(&b, "tcp://10.0.0.3:7700");
    KVT_OK(!kv_eps_equal(&a, &b), "sets of other members differ");
    kv_eps_add(&b, "tcp://10.0.0.1:7700");
    KVT_OK(kv_eps_equal(&a, &b), "the same members in any order are equal");
    kv_eps_t full;
    memset(&full, 0, sizeof full);
    int rc = 0;
    for (int i = 0; i <= KV_EPS_MAX; i++) {
        char ep[64];
        snprintf(ep, sizeof ep, "tcp://10.1.0.%d:1", i);
        rc = kv_eps_add(&full, ep);
    }
    KVT_EQ_INT(rc, -1, "a set holds at most %d addresses", KV_EPS_MAX);
}

/* A getaddrinfo-shaped answer: v4[] then v6[] addresses. */
static struct addrinfo *s_answer(const char *const *v4, const char *const *v6)
{
    struct addrinfo *head = NULL, **tail = &head;
    for (int fam = 0; fam < 2; fam++) {
        const char *const *list = fam ? v6 : v4;
        for (int i = 0; list && list[i]; i++) {
            struct addrinfo *a = calloc(1, sizeof *a);
            if (!fam) {
                struct sockaddr_in *sa = calloc(1, sizeof *sa);
                sa->sin_family = AF_INET;
                inet_pton(AF_INET, list[i], &sa->sin_addr);
                a->ai_family = AF_INET;
                a->ai_addr = (struct sockaddr *)sa;
            } else {
                struct sockaddr_in6 *sa = calloc(1, sizeof *sa);
                sa->sin6_family = AF_INET6;
                inet_pton(AF_INET6, list[i], &sa->sin6_addr);
                a->ai_family = AF_INET6;
                a->ai_addr = (struct sockaddr *)sa;
            }
            *tail = a;
            tail = &a->ai_next;
        }
    }
    return head;
}

static void s_answer_free(struct addrinfo *a)
{
    while (a) {
        struct addrinfo *n = a->ai_next;
        free(a->ai_addr);
        free(a);
        a = n;
    }
}

static void test_expand(void)
{
    kv_ep_spec_t sp;
    kv_ep_parse("tcp://gateway:7700", &sp, 1);
    const char *const v4[] = { "10.89.0.7", "10.89.0.5", NULL };
    const char *const v6[] = { "fd00::7", NULL };
    struct addrinfo *both = s_answer(v4, v6), *only6 = s_answer(NULL, v6);
    kv_eps_t out;
    memset(&out, 0, sizeof out);
    kv_ep_expand(&sp, both, &out);
    KVT_EQ_INT(out.n, 2, "a name with IPv4 and IPv6 addresses stands for its IPv4 ones");
    KVT_OK(out.n == 2 && strcmp(out.ep[0], "tcp://10.89.0.5:7700") == 0 &&
           strcmp(out.ep[1], "tcp://10.89.0.7:7700") == 0, "each with the port (%s)", out.ep[0]);
    memset(&out, 0, sizeof out);
    kv_ep_expand(&sp, only6, &out);
    KVT_OK(out.n == 1 && strcmp(out.ep[0], "tcp://[fd00::7]:7700") == 0,
           "a name with IPv6 addresses only stands for them, bracketed (%s)", out.ep[0]);
    s_answer_free(both);
    s_answer_free(only6);

    KVT_OK(kv_ep_lookup_final(EAI_NONAME), "NXDOMAIN: the name has no address");
    KVT_OK(!kv_ep_lookup_final(EAI_AGAIN), "a lookup that failed for now keeps what it had");
    KVT_OK(!kv_ep_lookup_final(EAI_FAIL) && !kv_ep_lookup_final(EAI_MEMORY),
           "so do other failures");

    kv_ep_parse("tcp://localhost:7711", &sp, 1);
    memset(&out, 0, sizeof out);
    KVT_EQ_INT(kv_ep_resolve(&sp, &out), 0, "localhost resolves");
    KVT_OK(kv_eps_has(&out, "tcp://127.0.0.1:7711") && out.n == 1,
           "to 127.0.0.1 once, not to ::1 as well (%d addresses)", out.n);
}

/* ---- a resolver the test controls ------------------------------------- */

static _Atomic int s_phase;       /* what "gw.test" resolves to */

static int s_fake_resolve(const kv_ep_spec_t *spec, kv_eps_t *out)
{
    if (strcmp(spec->host, "gw.test") != 0)
        return kv_ep_resolve(spec, out);
    kv_eps_t set;
    memset(&set, 0, sizeof set);
    char ep[64];
    switch (atomic_load(&s_phase)) {
    case 0:                       /* one gateway */
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:%s", spec->port);
        kv_eps_add(&set, ep);
        break;
    case 1:                       /* a second one joined */
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:%s", spec->port);
        kv_eps_add(&set, ep);
        snprintf(ep, sizeof ep, "tcp://127.0.0.2:%s", spec->port);
        kv_eps_add(&set, ep);
        break;
    case 2:                       /* DNS does not answer: keep what we had */
        return -1;
    case 3:                       /* the first one left */
        snprintf(ep, sizeof ep, "tcp://127.0.0.2:%s", spec->port);
        kv_eps_add(&set, ep);
        break;
    default:                      /* NXDOMAIN: no gateway at all */
        break;
    }
    *out = set;
    return 0;
}

/* Waits (<= 5 s) for d's generation to move past gen; returns the new one. */
static unsigned s_wait_gen(kv_disc_t *d, unsigned gen)
{
    for (int i = 0; i < 100 && kv_disc_gen(d) == gen; i++)
        usleep(50000);
    return kv_disc_gen(d);
}

/* Publishes a one-frame message on pub until sub gets one, at most ms;
 * returns 1 when it did. */
static int s_reaches(void *pub, void *sub, int ms)
{
    for (int waited = 0; waited < ms; waited += 50) {
        zmq_send(pub, "x", 1, ZMQ_DONTWAIT);
        kv_msg_t *m = kv_msg_recv(sub, 50);
        if (m) {
            kv_msg_destroy(&m);
            /* drain the copies already on their way */
            while ((m = kv_msg_recv(sub, 20)) != NULL)
                kv_msg_destroy(&m);
            return 1;
        }
    }
    return 0;
}

static void test_follow(void)
{
    kv_disc_test_resolver(s_fake_resolve);
    setenv("KVT_DISC_LIST", "tcp://127.0.0.3:41991,tcp://127.0.0.1:41990", 1);
    kv_disc_t *lit = kv_disc_get("KVT_DISC_LIST", NULL);
    kv_eps_t set;
    unsigned g0 = lit ? kv_disc_snapshot(lit, &set) : 0;
    KVT_OK(lit && set.n == 2 && strcmp(set.ep[0], "tcp://127.0.0.1:41990") == 0,
           "a list of numeric endpoints stands for itself");
    KVT_OK(lit == kv_disc_get("KVT_DISC_LIST", NULL), "one discovery per setting");
    setenv("KVT_DISC_BAD", "tcp://nope", 1);
    KVT_OK(kv_disc_get("KVT_DISC_BAD", NULL) == NULL, "a malformed setting has none (logged)");

    setenv("KVT_DISC_NAME", "tcp://gw.test:41992", 1);
    kv_disc_t *d = kv_disc_get("KVT_DISC_NAME", NULL);
    unsigned g = d ? kv_disc_snapshot(d, &set) : 0;
    KVT_OK(d && set.n == 1 && strcmp(set.ep[0], "tcp://127.0.0.1:41992") == 0,
           "a name is resolved at once when its discovery is made");
    if (!d)
        return;

    /* a SUB following the name, PUBs standing in for the gateways' XPUBs */
    void *zmq = zmq_ctx_new();
    void *pub1 = zmq_socket(zmq, ZMQ_PUB), *pub2 = zmq_socket(zmq, ZMQ_PUB);
    void *sub = zmq_socket(zmq, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(pub1, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(pub2, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    KVT_EQ_INT(zmq_bind(pub1, "tcp://127.0.0.1:41992"), 0, "gateway 1 binds");
    KVT_EQ_INT(zmq_bind(pub2, "tcp://127.0.0.2:41992"), 0, "gateway 2 binds");
    kv_eps_t connected;
    memset(&connected, 0, sizeof connected);
    unsigned followed = 0;
    kv_disc_follow(d, sub, &connected, &followed);
    KVT_OK(connected.n == 1 && s_reaches(pub1, sub, 3000), "the SUB hears gateway 1");
    KVT_OK(!s_reaches(pub2, sub, 300), "and not gateway 2, which is not listed yet");

    atomic_store(&s_phase, 1);
    g = s_wait_gen(d, g);
    kv_disc_snapshot(d, &set);
    KVT_OK(set.n == 2, "a second address of the name is published within a few intervals "
           "(generation %u, %d addresses)", g, set.n);
    kv_disc_follow(d, sub, &connected, &followed);
    KVT_OK(connected.n == 2 && s_reaches(pub2, sub, 3000), "the SUB connects to the new gateway");
    KVT_OK(s_reaches(pub1, sub, 3000), "and still hears the first");

    atomic_store(&s_phase, 2);
    usleep(600000);               /* several resolver turns without an answer */
    kv_disc_snapshot(d, &set);
    KVT_OK(kv_disc_gen(d) == g && set.n == 2, "a lookup that fails for now changes nothing");

    atomic_store(&s_phase, 3);
    g = s_wait_gen(d, g);
    kv_disc_snapshot(d, &set);
    KVT_OK(set.n == 1 && strcmp(set.ep[0], "tcp://127.0.0.2:41992") == 0,
           "a gateway that left is dropped from the set");
    kv_disc_follow(d, sub, &connected, &followed);
    /* whatever gateway 1 sent before the disconnect has been drained */
    while (s_reaches(pub1, sub, 200))
        ;
    KVT_OK(connected.n == 1 && !s_reaches(pub1, sub, 500), "the SUB leaves it");
    KVT_OK(s_reaches(pub2, sub, 3000), "and keeps the other");

    atomic_store(&s_phase, 4);
    g = s_wait_gen(d, g);
    kv_disc_snapshot(d, &set);
    KVT_EQ_INT(set.n, 0, "a name that no longer exists stands for no address");
    KVT_OK(kv_disc_gen(lit) == g0, "a list of numeric endpoints never changes");

    zmq_close(pub1);
    zmq_close(pub2);
    zmq_close(sub);
    zmq_ctx_term(zmq);
    kv_disc_test_resolver(NULL);
}

int main(void)
{
    kv_log_init("test");
    setenv("KAIVOX_BUS_RESOLVE_MS", "100", 1);
    test_parse();
    test_sets();
    test_expand();
    test_follow();
    return kvt_done();
}
