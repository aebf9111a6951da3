/*
 * kv_disc.h -- discovery: where the gateways are.
 *
 * The bus settings a service connects with (KAIVOX_BUS_ENDPOINT,
 * KAIVOX_EVENTS_IN_ENDPOINT, KAIVOX_EVENTS_OUT_ENDPOINT) each list one or
 * more endpoints, separated by commas.  A tcp:// endpoint whose host is a
 * DNS name stands for every address the name resolves to (its IPv4
 * addresses; its IPv6 ones only when it has no IPv4 address, so that a
 * dual-stack host is not counted twice), and the name is resolved again
 * every KAIVOX_BUS_RESOLVE_MS (2000): in a compose project the service
 * name `gateway` resolves to every gateway container, so scaling the
 * gateway tier changes no setting.  A numeric address (127.0.0.1,
 * [::1]) or another transport (ipc://, inproc://) stands for itself.
 *
 * Whoever connects (worker links, bus clients, publishers, the subscriber)
 * asks for the current set and its generation, and reconciles its
 * connections when the generation changes: a new address gets a
 * connection, a vanished one is drained and closed.  A lookup that fails
 * for a while (no DNS answer) keeps the previous addresses; a name that
 * no longer exists (NXDOMAIN) stands for no address.
 *
 * The pure parts (parsing, expanding an answer, the sets) are exposed for
 * tests/unit/shared/test_disc.c.
 */
#ifndef KV_DISC_H
#define KV_DISC_H

#include <netdb.h>

/* The defaults of the three settings: one gateway on this host. */
#define KV_BUS_ENDPOINT_DEFAULT        "tcp://127.0.0.1:7700"
#define KV_EVENTS_IN_ENDPOINT_DEFAULT  "tcp://127.0.0.1:7701"
#define KV_EVENTS_OUT_ENDPOINT_DEFAULT "tcp://127.0.0.1:7702"

#define KV_EP_LEN   128      /* one endpoint, as text, with its NUL */
#define KV_EPS_MAX  32       /* addresses one setting may stand for */
#define KV_EP_SPECS_MAX 16   /* endpoints one setting may list */

/* A set of endpoints: sorted, without duplicates. */
typedef struct {
    int n;
    char ep[KV_EPS_MAX][KV_EP_LEN];
} kv_eps_t;

/* One endpoint as written in a setting. */
typedef struct {
    char text[KV_EP_LEN];    /* as written, e.g. "tcp://gateway:7700" */
    char host[256];          /* tcp: the host without brackets; "" otherwise */
    char port[8];            /* tcp: the port */
    int name;                /* 1: host is a DNS name to resolve */
} kv_ep_spec_t;

/* Parses the comma-separated list text (spaces around entries allowed)
 * into out[0..max).  Returns how many (>= 1), or -1 when the list is empty,
 * too long, or an entry is not "tcp://HOST:PORT" (HOST a name, an IPv4
 * address or a bracketed IPv6 address; PORT 1..65535), "ipc://PATH" or
 * "inproc://NAME". */
int kv_ep_parse(const char *text, kv_ep_spec_t *out, int max);

/* Adds ep to set (kept sorted, no duplicate).  0, or -1 when the set is
 * full or ep too long. */
int kv_eps_add(kv_eps_t *set, const char *ep);
/* 1 when set holds ep. */
int kv_eps_has(const kv_eps_t *set, const char *ep);
/* 1 when a and b hold the same endpoints. */
int kv_eps_equal(const kv_eps_t *a, const kv_eps_t *b);

/* Adds to out the endpoints the getaddrinfo answer res stands for with
 * spec's port: "tcp://a.b.c.d:port" for each IPv4 address; when res has
 * none, "tcp://[x:y::z]:port" for each IPv6 address.  0, or -1 when out
 * is full. */
int kv_ep_expand(const kv_ep_spec_t *spec, const struct addrinfo *res, kv_eps_t *out);

/* Classifies a getaddrinfo failure: 1 when the name certainly has no
 * address (EAI_NONAME, EAI_NODATA), 0 when the lookup may succeed later
 * (the previous addresses are kept). */
int kv_ep_lookup_final(int gai_rc);

/* Resolves spec (a name) now.  0 with out holding its addresses (none
 * when it has none), or -1 when the lookup failed for now (out untouched). */
int kv_ep_resolve(const kv_ep_spec_t *spec, kv_eps_t *out);

/* Unit tests only: makes every later lookup of a name (by kv_disc_get and
 * the resolver thread) call fn instead of kv_ep_resolve, with the same
 * contract.  NULL restores it. */
typedef int (*kv_ep_resolve_fn)(const kv_ep_spec_t *spec, kv_eps_t *out);
void kv_disc_test_resolver(kv_ep_resolve_fn fn);

/* ---- the process's discovery ------------------------------------------ */

typedef struct kv_disc kv_disc_t;

/* The discovery of setting (its value, or def when unset): one object per
 * setting for the whole process, made on the first call (which resolves
 * its names once, synchronously) and never freed.  When the setting has a
 * name, a resolver thread (one for the process) looks it up again every
 * KAIVOX_BUS_RESOLVE_MS.  NULL when the setting is malformed (logged).
 * Thread-safe. */
kv_disc_t *kv_disc_get(const char *setting, const char *def);

/* The generation of d's set: it changes whenever the set does.  Cheap
 * (one atomic load): callers compare it on every turn of their loop. */
unsigned kv_disc_gen(const kv_disc_t *d);

/* Copies d's current set into *out; returns its generation. */
unsigned kv_disc_snapshot(kv_disc_t *d, kv_eps_t *out);

/* The setting d was made from, e.g. "KAIVOX_BUS_ENDPOINT". */
const char *kv_disc_setting(const kv_disc_t *d);

/* Keeps sock (PUB, SUB: one socket for every address) connected to every
 * address of d: connects the new ones, disconnects the vanished ones.
 * *connected and *gen hold what sock follows (zeroed at first).  One
 * atomic load when nothing changed. */
void kv_disc_follow(kv_disc_t *d, void *sock, kv_eps_t *connected, unsigned *gen);

/* For a socket about to connect to ep: ZMQ_IPV6 when ep is an IPv6
 * address.  0 or -1. */
int kv_disc_prepare(void *sock, const char *ep);

#endif
