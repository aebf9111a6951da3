// contract.mjs -- the contract check behind validate.mjs (the command) and
// selftest.mjs: checkContract(docPath, lines) checks the records of a
// contract log against docs/openapi.yaml and returns the lines to print and
// the number of failed checks.  What is checked is described in
// validate.mjs.

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
// Headers of HTTP itself, which the document does not describe.
const FRAMING_RESPONSE = new Set(['date', 'content-length', 'connection', 'keep-alive',
    'transfer-encoding']);
const FRAMING_REQUEST = new Set(['host', 'user-agent', 'accept', 'accept-encoding',
    'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'expect']);
// An integer path parameter is 1 to 18 digits: gw_pattern_match routes
// nothing else (GW_PARAM_VALUE_MAX), as the Id parameter documents.
const INTEGER_SEGMENT = /^[0-9]{1,18}$/;

// Checks lines (the JSON lines of a contract log) against the OpenAPI
// document at docPath.  Returns {out: lines to print, failed: the number of
// FAIL lines among them}.
export function checkContract(docPath, lines) {
    const out = [];
    // ---- the document ----------------------------------------------------------

    let doc;
    try {
        doc = parseYaml(readFileSync(docPath, 'utf8'), { uniqueKeys: true, prettyErrors: true });
    } catch (e) {
        out.push(`FAIL contract ${docPath} parses as YAML: ${e.message.split('\n')[0]}`);
        return { out, failed: 1 };
    }

    // A JSON pointer ("#/components/...") of the document, resolved.
    function pointer(ref) {
        if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
        let v = doc;
        for (const raw of ref.slice(2).split('/')) {
            const k = raw.replace(/~1/g, '/').replace(/~0/g, '~');
            if (v === null || typeof v !== 'object' || !(k in v)) throw new Error(`unresolved $ref ${ref}`);
            v = v[k];
        }
        return v;
    }

    // An OpenAPI object with its $ref (if any) followed, to any depth.
    function deref(o) {
        const seen = new Set();
        while (o && typeof o === 'object' && typeof o.$ref === 'string') {
            if (seen.has(o.$ref)) throw new Error(`$ref loop at ${o.$ref}`);
            seen.add(o.$ref);
            o = pointer(o.$ref);
        }
        return o;
    }

    // ---- schemas: Ajv 2020-12 over components.schemas ---------------------------

    // Strict: an unknown keyword (a typo such as maxlenght) is an error, not a
    // schema that silently checks nothing.  Untyped keywords are allowed, as
    // OpenAPI documents often leave `type` implied.
    const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true, allowUnionTypes: true });
    addFormats(ajv);
    // OpenAPI's own schema keywords (annotations for Ajv).
    ajv.addVocabulary(['discriminator', 'xml', 'externalDocs', 'example']);

    const SCHEMAS_ID = 'https://kaivox.invalid/openapi/components.json';
    // A schema of the document with every "#/components/schemas/X" turned into a
    // reference to the registered components.  Returns a new object.
    function rewriteRefs(v) {
        if (Array.isArray(v)) return v.map(rewriteRefs);
        if (v === null || typeof v !== 'object') return v;
        const out = {};
        for (const [k, x] of Object.entries(v)) {
            if (k === '$ref' && typeof x === 'string') {
                if (!x.startsWith('#/components/schemas/')) throw new Error(`schema $ref outside components.schemas: ${x}`);
                out[k] = `${SCHEMAS_ID}#/$defs/${x.slice('#/components/schemas/'.length)}`;
            } else {
                out[k] = rewriteRefs(x);
            }
        }
        return out;
    }

    try {
        ajv.addSchema({ $id: SCHEMAS_ID, $defs: rewriteRefs(doc.components?.schemas ?? {}) });
    } catch (e) {
        out.push(`FAIL contract ${docPath} components.schemas compile: ${e.message}`);
        return { out, failed: 1 };
    }

    const compiled = new Map();   // the schema object -> its validator
    function validator(schema) {
        let v = compiled.get(schema);
        if (!v) {
            v = ajv.compile(rewriteRefs(schema));
            compiled.set(schema, v);
        }
        return v;
    }

    function ajvErrors(errors) {
        return (errors ?? []).slice(0, 4).map((e) => {
            let what = `${e.instancePath || '/'} ${e.message}`;
            if (e.params?.additionalProperty !== undefined) what += ` (${e.params.additionalProperty})`;
            if (e.params?.allowedValues !== undefined) what += ` ${JSON.stringify(e.params.allowedValues)}`;
            return what;
        }).join('; ');
    }

    // A header value as the JSON value its schema describes.
    function headerValue(schema, text) {
        const s = deref(schema) ?? {};
        const type = Array.isArray(s.type) ? s.type[0] : s.type;
        if ((type === 'integer' || type === 'number') && /^-?[0-9]+(\.[0-9]+)?$/.test(text)) return Number(text);
        if (type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
        return text;
    }

    // ---- routes ------------------------------------------------------------------

    // Path templates of the document, literal segments before parameters so that
    // a literal never loses to a parameter (as in the gateway).
    const routes = Object.entries(doc.paths ?? {}).map(([template, item]) => {
        const params = [...(item.parameters ?? []), ...METHODS.flatMap((m) => item[m]?.parameters ?? [])]
            .map(deref).filter((p) => p.in === 'path');
        const segs = template.split('/').slice(1).map((s) => {
            const m = /^\{(.+)\}$/.exec(s);
            if (!m) return { literal: s };
            const p = params.find((x) => x.name === m[1]);
            const type = deref(p?.schema)?.type;
            return { param: m[1], re: type === 'integer' ? INTEGER_SEGMENT : /^[^/]+$/ };
        });
        const methods = METHODS.filter((m) => item[m]);
        return { template, item, segs, methods };
    }).sort((a, b) => a.segs.filter((s) => s.param).length - b.segs.filter((s) => s.param).length);

    function route(path) {
        const parts = path.split('/').slice(1);
        for (const r of routes) {
            if (r.segs.length !== parts.length) continue;
            if (r.segs.every((s, i) => (s.literal !== undefined ? s.literal === parts[i] : s.re.test(parts[i])))) return r;
        }
        return null;
    }

    // The answers a request may get before the gateway looks at the route.
    const unrouted = doc['x-unrouted-responses'] ?? {};
    const PRE_ROUTE = Object.keys(unrouted).filter((s) => s !== '404');

    // ---- checks -------------------------------------------------------------------

    // [[name, value], ...] -> Map(lower name -> [{name, value}]), or an error text.
    function headerMap(pairs) {
        const m = new Map();
        if (!Array.isArray(pairs)) return 'headers are not a list';
        for (const p of pairs) {
            if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || typeof p[1] !== 'string')
                return `a header is not a [name, value] pair of UTF-8 text: ${JSON.stringify(p)}`;
            const k = p[0].toLowerCase();
            if (!m.has(k)) m.set(k, []);
            m.get(k).push({ name: p[0], value: p[1] });
        }
        return m;
    }

    // Checks the headers of got (a Map) against documented {name: Header|Parameter};
    // framing is the set of headers left out.  Returns the problems.
    function checkHeaders(got, documented, framing, what) {
        const problems = [];
        const names = new Map();
        for (const [name, h] of Object.entries(documented ?? {})) names.set(name.toLowerCase(), { name, h: deref(h) });
        for (const [k, { name, h }] of names) {
            const values = got.get(k);
            if (!values) {
                if (h.required) problems.push(`${what} header ${name} is required but missing`);
                continue;
            }
            // Set-Cookie is the one header that may repeat (RFC 9110 5.3, RFC 6265 3)
            if (values.length > 1 && k !== 'set-cookie') problems.push(`${what} header ${name} sent ${values.length} times`);
            if (h.schema) {
                const v = validator(deref(h.schema));
                if (!v(headerValue(h.schema, values[0].value)))
                    problems.push(`${what} header ${name}: "${values[0].value}" ${ajvErrors(v.errors)}`);
            }
        }
        for (const [k, values] of got) {
            if (k === 'content-type' || framing.has(k) || names.has(k)) continue;
            problems.push(`${what} header ${values[0].name} is not in the document`);
        }
        return problems;
    }

    // Checks a body against a content map ({media type: {schema}}); empty when
    // the body may carry nothing (no content documented, or a HEAD answer).
    function checkBody(rec, content, headers, noBody) {
        const problems = [];
        const body = rec.body;
        if (typeof body !== 'string') return ['the body is not UTF-8 text'];
        if (noBody || !content || Object.keys(content).length === 0) {
            if (body.length > 0) problems.push(`a body was sent where the document has none: ${body.slice(0, 80)}`);
            return problems;
        }
        const ct = headers.get('content-type')?.[0]?.value;
        if (!ct) return ['no Content-Type header'];
        const media = ct.split(';')[0].trim().toLowerCase();
        const entry = content[media];
        if (!entry) return [`Content-Type ${media} is not documented (${Object.keys(content).join(', ')})`];
        if (!media.endsWith('json')) return problems;
        let value;
        try {
            value = JSON.parse(body);
        } catch (e) {
            return [`the body is not JSON: ${body.slice(0, 80)}`];
        }
        const v = validator(deref(entry.schema) ?? {});
        if (!v(value)) problems.push(`body: ${ajvErrors(v.errors)}`);
        return problems;
    }

    // The response documented for status in responses, or null.
    function documentedResponse(responses, status) {
        const s = String(status);
        if (responses[s]) return deref(responses[s]);
        const range = `${s[0]}XX`;
        if (responses[range]) return deref(responses[range]);
        if (responses.default) return deref(responses.default);
        return null;
    }

    // One record of the API -> {label, keys (operation/status pairs covered), problems}.
    function checkApi(rec) {
        const target = typeof rec.target === 'string' ? rec.target : '';
        const path = target.split('?')[0];
        const method = String(rec.method ?? '').toLowerCase();
        const status = rec.status;
        const headers = headerMap(rec.headers);
        if (typeof headers === 'string') return { label: `${rec.method} ${path}`, keys: [], problems: [headers] };
        const r = route(path);
        let label, responses, problems = [], keys = [];
        // HEAD on a GET route is that GET without its body (info: "Methods").
        const opMethod = r && method === 'head' && !r.item.head && r.item.get ? 'get' : method;
        if (r && r.item[opMethod]) {
            label = `${method.toUpperCase()} ${r.template}`;
            responses = r.item[opMethod].responses ?? {};
            keys.push(`${opMethod.toUpperCase()} ${r.template} ${status}`);
        } else if (r) {
            label = `${method.toUpperCase()} ${r.template} (a method the path does not have)`;
            responses = {};
            for (const m of r.methods) {
                for (const s of [...PRE_ROUTE, '405']) {
                    if (r.item[m].responses?.[s] && !responses[s]) responses[s] = r.item[m].responses[s];
                }
            }
            if (status === 405) {
                keys = r.methods.map((m) => `${m.toUpperCase()} ${r.template} 405`);
                const allow = headers.get('allow')?.[0]?.value ?? '';
                const got = allow.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean).sort();
                const want = [...new Set([...r.methods, ...(r.methods.includes('get') ? ['head'] : [])])].sort();
                if (got.join() !== want.join())
                    problems.push(`Allow: "${allow}" but the document has ${want.map((m) => m.toUpperCase()).join(', ')}`);
            }
        } else {
            label = 'a path the document does not have';
            responses = unrouted;
            keys.push(`(unrouted) ${status}`);
        }
        label = `${label} -> ${status}`;
        const resp = documentedResponse(responses, status);
        if (!resp) {
            problems.push(`status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`);
            return { label, keys: [], problems };
        }
        problems.push(...checkHeaders(headers, resp.headers, FRAMING_RESPONSE, 'response'));
        problems.push(...checkBody(rec, resp.content, headers, method === 'head'));
        return { label, keys, problems };
    }

    // One webhook request -> {label, keys, problems}.
    function checkWebhook(rec) {
        const headers = headerMap(rec.headers);
        if (typeof headers === 'string') return { label: 'webhook', keys: [], problems: [headers] };
        const event = headers.get('x-kaivox-event')?.[0]?.value ?? '(no X-KaiVox-Event)';
        const item = doc.webhooks?.[event];
        const method = String(rec.method ?? '').toLowerCase();
        const op = item?.[method];
        const label = `webhook ${event}`;
        if (!op) return { label, keys: [], problems: [`no webhook "${event}" with method ${rec.method} in the document`] };
        const params = {};
        for (const p of [...(item.parameters ?? []), ...(op.parameters ?? [])].map(deref)) {
            if (p.in === 'header') params[p.name] = p;
        }
        const problems = checkHeaders(headers, params, FRAMING_REQUEST, 'request');
        problems.push(...checkBody(rec, deref(op.requestBody)?.content, headers, false));
        return { label, keys: [`webhook ${event}`], problems };
    }

    // ---- the document's own rules -----------------------------------------------------

    // Every object schema reachable from schema, with where it is; components
    // are entered once.
    function* objectSchemas(schema, where, seen = new Set()) {
        if (schema === null || typeof schema !== 'object') return;
        if (typeof schema.$ref === 'string') {
            if (seen.has(schema.$ref)) return;
            seen.add(schema.$ref);
            yield* objectSchemas(pointer(schema.$ref), schema.$ref, seen);
        }
        const types = Array.isArray(schema.type) ? schema.type : [schema.type];
        if (schema.properties || types.includes('object')) yield { schema, where };
        for (const [k, v] of Object.entries(schema)) {
            if (k === 'properties' || k === '$defs') {
                for (const [name, s] of Object.entries(v)) yield* objectSchemas(s, `${where}.${name}`, seen);
            } else if (['items', 'additionalProperties', 'not', 'contains'].includes(k)) {
                yield* objectSchemas(v, where, seen);
            } else if (['allOf', 'anyOf', 'oneOf', 'prefixItems'].includes(k)) {
                for (const s of v) yield* objectSchemas(s, where, seen);
            }
        }
    }

    // "Every response schema is closed": an object with properties forbids any
    // other (additionalProperties: false), and a map says what its values are.
    function documentRules() {
        const results = [];
        const open = [], missingStatus = [], missingHeaders = [];
        const bodies = [];
        for (const r of routes) {
            for (const m of r.methods) {
                for (const [s, resp] of Object.entries(r.item[m].responses ?? {})) {
                    const d = deref(resp);
                    for (const c of Object.values(d.content ?? {})) bodies.push([`${m.toUpperCase()} ${r.template} ${s}`, c.schema]);
                }
            }
        }
        for (const [s, resp] of Object.entries(unrouted)) {
            for (const c of Object.values(deref(resp).content ?? {})) bodies.push([`x-unrouted-responses ${s}`, c.schema]);
        }
        for (const [event, item] of Object.entries(doc.webhooks ?? {})) {
            for (const c of Object.values(deref(item.post?.requestBody)?.content ?? {})) bodies.push([`webhook ${event}`, c.schema]);
        }
        for (const [what, schema] of bodies) {
            for (const { schema: s, where } of objectSchemas(schema, what)) {
                if (s.properties ? s.additionalProperties !== false : s.additionalProperties === undefined)
                    open.push(where);
            }
        }
        results.push(['every response and webhook body schema is closed (additionalProperties: false)',
            [...new Set(open)].map((w) => `open object at ${w}`)]);

        // The statuses every operation of the public API can answer, and the
        // headers every answer carries.
        const common = ['400', '401', '405', '413', '429', '500', '503', '504'];
        for (const r of routes) {
            if (!r.template.startsWith('/api/v1/')) continue;
            for (const m of r.methods) {
                const op = r.item[m];
                const want = [...common];
                if (r.segs.some((s) => s.param)) want.push('404');
                if (op.requestBody) want.push('422');
                for (const s of want) {
                    if (!op.responses?.[s]) missingStatus.push(`${m.toUpperCase()} ${r.template} lacks ${s}`);
                }
                for (const [s, resp] of Object.entries(op.responses ?? {})) {
                    const h = deref(resp).headers ?? {};
                    const need = ['X-Request-Id'];
                    if (s !== '401' && s !== '413') need.push('X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset');
                    if (s === '405') need.push('Allow');
                    if (s === '429') need.push('Retry-After');
                    for (const n of need) {
                        if (!h[n]) missingHeaders.push(`${m.toUpperCase()} ${r.template} ${s} lacks header ${n}`);
                    }
                    if (/^2/.test(s) && !(deref(h['X-RateLimit-Limit'])?.required))
                        missingHeaders.push(`${m.toUpperCase()} ${r.template} ${s}: X-RateLimit-Limit must be required`);
                }
            }
        }
        // Every schema compiles in Ajv's strict mode (no unknown keyword, no
        // required property left undefined): else it would check nothing.
        const broken = [];
        for (const [what, schema] of bodies) {
            try {
                validator(deref(schema) ?? {});
            } catch (e) {
                broken.push(`${what}: ${e.message}`);
            }
        }
        results.push(['every response and webhook body schema compiles (Ajv, JSON Schema 2020-12, strict)', broken]);
        // Writes: every one takes an Idempotency-Key (409 while its first
        // request runs, 422 when reused) and a read-only key's 403; the
        // answers that can be recorded ones (2xx, 404, 422; a 409 other than
        // "still running" too) say they may be replayed.
        const idem = [];
        for (const r of routes) {
            if (!r.template.startsWith('/api/v1/')) continue;
            for (const m of r.methods) {
                if (m === 'get' || m === 'head') continue;
                const op = r.item[m];
                if (op['x-gateway-local']) continue;   // the gateway's own routes record no keys
                const where = `${m.toUpperCase()} ${r.template}`;
                const params = [...(r.item.parameters ?? []), ...(op.parameters ?? [])].map(deref);
                if (!params.some((p) => p?.in === 'header' && p.name === 'Idempotency-Key'))
                    idem.push(`${where} does not take the Idempotency-Key header`);
                for (const s of ['403', '409', '422'])
                    if (!op.responses?.[s]) idem.push(`${where} lacks ${s}`);
                for (const [s, resp] of Object.entries(op.responses ?? {})) {
                    if (!/^2/.test(s) && s !== '404' && s !== '422') continue;
                    if (!(deref(resp).headers ?? {})['Idempotent-Replayed'])
                        idem.push(`${where} ${s} lacks header Idempotent-Replayed`);
                }
            }
        }
        results.push(['every /api/v1/ operation lists 400, 401, 405, 413, 429, 500, 503, 504 (404 with a path id, 422 with a body)', missingStatus]);
        results.push(['every /api/v1/ write takes Idempotency-Key, lists 403, 409 and 422, and its 2xx/404/422 answers document Idempotent-Replayed', idem]);
        results.push(['every /api/v1/ answer documents X-Request-Id and the rate-limit headers (Allow on 405, Retry-After on 429)', missingHeaders]);
        return results;
    }

    let docFailed = 0;
    for (const [rule, problems] of documentRules()) {
        if (problems.length === 0) {
            out.push(`PASS contract ${docPath}: ${rule}`);
        } else {
            docFailed++;
            out.push(`FAIL contract ${docPath}: ${rule}: ${problems.length} problems, e.g. ${problems[0]}`);
            for (const p of problems.slice(0, 10)) out.push(`      - ${p}`);
        }
    }

    // ---- the log --------------------------------------------------------------------


    const groups = new Map();   // label -> {n, bad: [{problems, rec}]}
    const covered = new Set();
    let nApi = 0, nHook = 0;
    for (const [i, line] of lines.entries()) {
        let rec, res;
        try {
            rec = JSON.parse(line);
        } catch (e) {
            res = { label: 'contract log', keys: [], problems: [`line ${i + 1} is not JSON`] };
        }
        if (!res) {
            try {
                if (rec.src === 'api') { nApi++; res = checkApi(rec); }
                else if (rec.src === 'webhook') { nHook++; res = checkWebhook(rec); }
                else res = { label: 'contract log', keys: [], problems: [`line ${i + 1}: unknown src ${rec.src}`] };
            } catch (e) {
                res = { label: `${docPath} (cannot check with it)`, keys: [], problems: [`line ${i + 1}: ${e.message}`] };
            }
        }
        for (const k of res.keys) covered.add(k);
        if (!groups.has(res.label)) groups.set(res.label, { n: 0, bad: [] });
        const g = groups.get(res.label);
        g.n++;
        if (res.problems.length > 0) g.bad.push({ problems: res.problems, rec });
    }

    let failed = docFailed;
    for (const label of [...groups.keys()].sort()) {
        const g = groups.get(label);
        if (g.bad.length === 0) {
            out.push(`PASS contract ${label}: ${g.n} ${g.n === 1 ? 'record matches' : 'records match'} ${docPath}`);
            continue;
        }
        failed++;
        const first = g.bad[0];
        out.push(`FAIL contract ${label}: ${g.bad.length} of ${g.n} records differ from ${docPath}: ${first.problems[0]}`);
        for (const b of g.bad.slice(0, 3)) {
            const where = b.rec ? `${b.rec.test ?? '?'}: ${b.rec.method ?? ''} ${b.rec.target ?? ''}` : '';
            out.push(`    ${where}`);
            for (const p of b.problems.slice(0, 6)) out.push(`      - ${p}`);
            if (b.rec && typeof b.rec.body === 'string') out.push(`      body: ${b.rec.body.slice(0, 300)}`);
        }
    }
    if (lines.length === 0) {
        out.push(`FAIL contract log has records (the end-to-end tests recorded nothing)`);
        failed++;
    }

    // ---- coverage ---------------------------------------------------------------------

    const documented = [];
    for (const r of routes) {
        for (const m of r.methods) {
            for (const s of Object.keys(r.item[m].responses ?? {})) documented.push(`${m.toUpperCase()} ${r.template} ${s}`);
        }
    }
    for (const s of Object.keys(unrouted)) documented.push(`(unrouted) ${s}`);
    for (const [event, item] of Object.entries(doc.webhooks ?? {})) {
        if (item.post) documented.push(`webhook ${event}`);
    }
    const missing = documented.filter((k) => !covered.has(k));
    out.push(`# contract: ${nApi} API answers and ${nHook} webhook requests checked; ` +
        `${documented.length - missing.length} of ${documented.length} documented operation/status pairs exercised`);
    if (missing.length > 0) {
        out.push('# never exercised by the tests:');
        const byOp = new Map();
        for (const k of missing) {
            const cut = k.lastIndexOf(' ');
            const op = k.startsWith('webhook ') ? 'webhook' : k.slice(0, cut);
            const s = k.startsWith('webhook ') ? k.slice(8) : k.slice(cut + 1);
            if (!byOp.has(op)) byOp.set(op, []);
            byOp.get(op).push(s);
        }
        for (const [op, ss] of byOp) out.push(`#   ${op}: ${ss.join(', ')}`);
    }
    return { out, failed };
}
