/*
 * test_idem.c -- the pure parts of kv_idem: the request fingerprint (the
 * same request however its JSON is written, another one as soon as the
 * operation, a path parameter, the query or the body differs) and which
 * answers are recorded with their key.
 */
#include <string.h>

#include "../../lib/kvt.h"
#include "kv_idem.h"

/* The fingerprint of op over the bus body text. */
static const char *s_fp(const char *op, const char *bus, char hex[65])
{
    json_t *j = json_loads(bus, 0, NULL);
    if (!j) {
        strcpy(hex, "(bad json)");
        return hex;
    }
    kv_idem_fingerprint(op, j, hex);
    json_decref(j);
    return hex;
}

static void test_fingerprint(void)
{
    char a[65], b[65];
    const char *base = "{\"params\":{},\"query\":{},\"body\":{\"name\":\"Ann\",\"phone\":\"+15551234567\","
                       "\"tags\":[1,2],\"n\":{\"x\":1,\"y\":2.5}}}";
    s_fp("customers.create", base, a);
    KVT_EQ_INT((long long)strlen(a), 64, "a fingerprint is 64 hex characters");
    KVT_OK(strspn(a, "0123456789abcdef") == 64, "lowercase hex");
    const char *same = s_fp("customers.create", base, b);
    KVT_EQ_STR(same, a, "the same request gives the same fingerprint");
    const char *spaced = s_fp("customers.create",
                              "{ \"body\" : {\"n\":{\"y\":2.5,\"x\":1},\"tags\":[1,2],"
                              "\"phone\":\"+15551234567\",\"name\":\"Ann\"},\n \"query\":{}, "
                              "\"params\":{} }", b);
    KVT_EQ_STR(spaced, a, "key order and spacing do not change it");

    KVT_OK(strcmp(s_fp("customers.update", base, b), a) != 0, "another operation changes it");
    KVT_OK(strcmp(s_fp("customers.create",
                       "{\"params\":{\"id\":\"1\"},\"query\":{},\"body\":{\"name\":\"Ann\","
                       "\"phone\":\"+15551234567\",\"tags\":[1,2],\"n\":{\"x\":1,\"y\":2.5}}}", b), a) != 0,
           "a path parameter changes it");
    KVT_OK(strcmp(s_fp("customers.create",
                       "{\"params\":{},\"query\":{\"x\":\"1\"},\"body\":{\"name\":\"Ann\","
                       "\"phone\":\"+15551234567\",\"tags\":[1,2],\"n\":{\"x\":1,\"y\":2.5}}}", b), a) != 0,
           "a query argument changes it");
    KVT_OK(strcmp(s_fp("customers.create",
                       "{\"params\":{},\"query\":{},\"body\":{\"name\":\"Ann\","
                       "\"phone\":\"+15551234567\",\"tags\":[2,1],\"n\":{\"x\":1,\"y\":2.5}}}", b), a) != 0,
           "the order of a list's items changes it");
    KVT_OK(strcmp(s_fp("customers.create",
                       "{\"params\":{},\"query\":{},\"body\":{\"name\":\"Ann\","
                       "\"phone\":\"+15551234567\",\"tags\":[1,2],\"n\":{\"x\":1.0,\"y\":2.5}}}", b), a) != 0,
           "1.0 is not 1 (the services tell integers from reals)");
    char c[65], d[65];
    KVT_OK(strcmp(s_fp("x.y", "{\"params\":{},\"query\":{},\"body\":null}", c),
                  s_fp("x.y", "{\"params\":{},\"query\":{},\"body\":{}}", d)) != 0,
           "no body is not an empty body");
}

static void test_storable(void)
{
    static const int yes[] = { 200, 201, 202, 204, 400, 404, 409, 410, 422 };
    static const int no[] = { 100, 302, 429, 500, 501, 502, 503, 504, 505 };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        KVT_OK(kv_idem_storable(yes[i]), "a %d answer is recorded with its key", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        KVT_OK(!kv_idem_storable(no[i]), "a %d answer is not recorded (a retry runs again)", no[i]);
}

int main(void)
{
    test_fingerprint();
    test_storable();
    return kvt_done();
}
