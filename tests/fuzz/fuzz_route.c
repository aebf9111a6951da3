/*
 * fuzz_route.c -- the request line and Content-Type as the gateway routes
 * them: gw_route_find over the public route table for a method and a path
 * (the input: "METHOD path", the first space splits them), and
 * gw_content_type_is_json on the same bytes.
 *
 * Properties: a found route has the method asked and a pattern whose
 * {name} segments were captured as 1..18 ASCII digits, and putting the
 * captured values back into the pattern gives the path exactly (nothing
 * of the path was skipped or invented); a 405 names in Allow only methods
 * of routes whose pattern matches the path, never the one asked; a 404
 * means no pattern matches the path under any method.
 */
#include "fuzz.h"

#include "../../services/gateway/gw_input.h"
#include "../../services/gateway/gw_routes.h"

/* The path the pattern gives with params put in place of its {names}. */
static void s_fill(const char *pattern, const gw_params_t *params, char *out, size_t size)
{
    size_t o = 0;
    int k = 0;
    for (const char *p = pattern; *p;) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            FUZZ_CHECK(end && k < params->n);
            size_t nlen = (size_t)(end - p - 1);
            FUZZ_CHECK(strlen(params->p[k].name) == nlen &&
                       memcmp(params->p[k].name, p + 1, nlen) == 0);
            const char *v = params->p[k].value;
            size_t vlen = strlen(v);
            FUZZ_CHECK(vlen >= 1 && vlen <= GW_PARAM_VALUE_MAX);
            for (size_t i = 0; i < vlen; i++)
                FUZZ_CHECK(v[i] >= '0' && v[i] <= '9');
            FUZZ_CHECK(o + vlen < size);
            memcpy(out + o, v, vlen);
            o += vlen;
            k++;
            p = end + 1;
        } else {
            FUZZ_CHECK(o + 1 < size);
            out[o++] = *p++;
        }
    }
    FUZZ_CHECK(k == params->n);
    out[o] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = fuzz_str(data, size);
    (void)gw_content_type_is_json(line);
    char *sp = strchr(line, ' ');
    const char *method = "GET", *path = line;
    if (sp) {
        *sp = '\0';
        method = line;
        path = sp + 1;
    }

    const gw_route_t *r = NULL;
    gw_params_t params;
    char allow[64];
    int rc = gw_route_find(gw_routes, method, path, &r, &params, allow, sizeof allow);
    if (rc == GW_ROUTE_FOUND) {
        FUZZ_CHECK(r && strcmp(r->method, method) == 0);
        char back[256];
        s_fill(r->pattern, &params, back, sizeof back);
        FUZZ_CHECK(strcmp(back, path) == 0);
        FUZZ_CHECK(gw_param(&params, "id") == NULL || params.n >= 1);
    } else {
        int any = 0;
        for (const gw_route_t *t = gw_routes; t->method; t++) {
            if (!gw_pattern_match(t->pattern, path, NULL))
                continue;
            any = 1;
            FUZZ_CHECK(strcmp(t->method, method) != 0);
            FUZZ_CHECK(strstr(allow, t->method) != NULL);
        }
        FUZZ_CHECK(any == (rc == GW_ROUTE_BAD_METHOD));
        FUZZ_CHECK(rc == GW_ROUTE_BAD_METHOD || allow[0] == '\0');
    }
    free(line);
    return 0;
}
