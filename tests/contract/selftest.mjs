#!/usr/bin/env node
// selftest.mjs -- proves that the contract check (validate.mjs) can fail:
// a few answers and webhook requests shaped exactly as the server sends
// them must pass, and each kind of drift between the server and
// docs/openapi.yaml (an unknown field, a wrong type, a missing field, an
// undocumented status or header, a wrong Allow, a changed webhook payload,
// an open schema in the document, ...) must make it fail with the right
// reason.  Prints one PASS/FAIL line per case for tests/run.sh.
//
//   node tests/contract/selftest.mjs [--doc docs/openapi.yaml]

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { checkContract } from './contract.mjs';

let docPath = 'docs/openapi.yaml';
if (process.argv[2] === '--doc' && process.argv[3]) docPath = process.argv[3];

const dir = mkdtempSync(join(tmpdir(), 'kvt-contract-'));
let failed = 0;

// The check of records against doc, as validate.mjs runs it: rc 1 when it
// failed, and its output.
function run(records, doc = docPath) {
    const r = checkContract(doc, records.map((x) => JSON.stringify(x)));
    return { rc: r.failed > 0 ? 1 : 0, out: r.out.join('\n') };
}

function check(ok, what, detail) {
    if (ok) console.log(`PASS contract self-test: ${what}`);
    else { failed++; console.log(`FAIL contract self-test: ${what}: ${detail}`); }
}

// ---- records as the server sends them ---------------------------------------

const rl = [['X-RateLimit-Limit', '600'], ['X-RateLimit-Remaining', '598'], ['X-RateLimit-Reset', '1796095261']];
function api(method, target, status, body, extra = rl) {
    return {
        src: 'api', test: 'selftest', method, target, status,
        headers: [['Date', 'Tue, 01 Dec 2026 03:20:01 GMT'], ['Content-Type', 'application/json'],
            ['X-Request-Id', '876f929bbd4aef504c6a5c5b8c0be86e'], ...extra,
            ['Content-Length', String(Buffer.byteLength(JSON.stringify(body)))]],
        body: JSON.stringify(body),
    };
}
const service = { id: 1, name: 'Haircut', duration: 30, price: 25.5, buffer_before_minutes: 0,
    buffer_after_minutes: 10, min_notice_minutes: 0, max_advance_days: 365 };
const appointment = {
    id: 132, customer_id: 63, service_id: 32, service_name: 'Cut', staff_id: 28, staff_name: 'Alex',
    appointment_date: '2026-12-03', appointment_time: '08:00', end_time: '08:15', duration: 15,
    status: 'scheduled', notes: null, source: 'api', price: 20.0,
    created_at: '2026-12-01T03:20:17Z', updated_at: '2026-12-01T03:20:17Z', call_id: null,
};
function hook(event, data, mutate = (h) => h) {
    const body = JSON.stringify({ id: 'b158ed5b-aa6a-4aa4-bccf-6873f7b59a6d', event,
        created_at: '2026-12-01T03:20:17.942242Z', data });
    return {
        src: 'webhook', test: 'webhook_receiver', method: 'POST', target: '/ok/all', status: 200,
        headers: mutate([['Host', '127.0.0.1:45173'], ['User-Agent', 'KaiVox-Webhooks/1'], ['Accept', '*/*'],
            ['Content-Type', 'application/json'], ['X-KaiVox-Event', event], ['X-KaiVox-Delivery', '1'],
            ['X-KaiVox-Timestamp', '1796095217'],
            ['X-KaiVox-Signature', 'a9156f16b6158d2026e5a42ece361122d7339d401c13c3287e48b2fd189833b7'],
            ['webhook-id', '1'], ['webhook-timestamp', '1796095217'],
            ['webhook-signature', 'v1,Ck7JLdvObL2A2WAbfQcy++MLbZ6mnjyA2lw6PUipmq0='],
            ['Content-Length', String(body.length)]]),
        body,
    };
}
const good = [
    api('GET', '/api/v1/services/1', 200, { success: true, data: service }),
    api('GET', '/api/v1/services?page=1', 200, { success: true, data: [service], meta: { page: 1, per_page: 20, total: 1 } }),
    api('DELETE', '/api/v1/services', 405, { success: false, message: 'Method not allowed.' }, [...rl, ['Allow', 'GET, HEAD']]),
    api('GET', '/api/v1/nothing-here', 404, { success: false, message: 'Route not found.' }),
    api('GET', '/not-api', 404, { success: false, message: 'Route not found.' }, []),
    api('GET', '/api/v1/services', 401, { success: false, message: 'API key missing.' }, []),
    hook('appointment.created', appointment),
];

// ---- the cases ----------------------------------------------------------------

const base = run(good);
check(base.rc === 0 && !/^FAIL/m.test(base.out), 'answers and webhook requests as the server sends them pass',
    base.out.split('\n').filter((l) => l.startsWith('FAIL') || l.startsWith('  ')).slice(0, 4).join(' | '));

const cases = [
    ['an unknown field in a body', [api('GET', '/api/v1/services/1', 200, { success: true, data: { ...service, colour: 'red' } })],
        /must NOT have additional properties \(colour\)/],
    ['an unknown field in the envelope', [api('GET', '/api/v1/services/1', 200, { success: true, data: service, debug: 1 })],
        /additional properties \(debug\)/],
    ['a field of the wrong type', [api('GET', '/api/v1/services/1', 200, { success: true, data: { ...service, price: '25.50' } })],
        /\/data\/price must be number/],
    ['a missing field', [api('GET', '/api/v1/services/1', 200, { success: true, data: { id: 1, duration: 30, price: 1 } })],
        /must have required property 'name'/],
    ['a list item that is not closed', [api('GET', '/api/v1/services', 200, { success: true, data: [{ ...service, x: 1 }], meta: { page: 1, per_page: 20, total: 1 } })],
        /\/data\/0 must NOT have additional properties \(x\)/],
    ['a wrong value of an enum', [api('DELETE', '/api/v1/appointments/132', 200, { success: true, data: { ...appointment, status: 'gone' } })],
        /\/data\/status must be equal to one of the allowed values/],
    ['a malformed date-time', [api('GET', '/api/v1/appointments/132', 200, { success: true, data: { ...appointment, created_at: '2026-12-01 03:20' } })],
        /\/data\/created_at must match format "date-time"/],
    ['a status the operation does not document', [api('GET', '/api/v1/services/1', 409, { success: false, message: 'x' })],
        /status 409 is not documented/],
    ['a missing X-Request-Id', [{ ...api('GET', '/api/v1/services/1', 200, { success: true, data: service }), headers: [['Content-Type', 'application/json'], ...rl] }],
        /header X-Request-Id is required but missing/],
    ['missing rate-limit headers on an authenticated answer', [api('GET', '/api/v1/services/1', 200, { success: true, data: service }, [])],
        /header X-RateLimit-Limit is required but missing/],
    ['a header the document does not list', [api('GET', '/api/v1/services/1', 200, { success: true, data: service }, [...rl, ['X-Debug', '1']])],
        /header X-Debug is not in the document/],
    ['rate-limit headers on a 401', [api('GET', '/api/v1/services', 401, { success: false, message: 'API key missing.' })],
        /header X-RateLimit-Limit is not in the document/],
    ['a header value of the wrong type', [api('GET', '/api/v1/services/1', 200, { success: true, data: service }, [['X-RateLimit-Limit', 'many'], rl[1], rl[2]])],
        /header X-RateLimit-Limit: "many" .*must be integer/],
    ['another Content-Type', [{ ...api('GET', '/api/v1/services/1', 200, { success: true, data: service }), headers: [['Content-Type', 'text/html'], ['X-Request-Id', 'a'], ...rl] }],
        /Content-Type text\/html is not documented/],
    ['a body that is not JSON', [{ ...api('GET', '/api/v1/services/1', 200, {}), body: '<html>' }],
        /the body is not JSON/],
    ['a 405 whose Allow differs from the documented methods', [api('DELETE', '/api/v1/services', 405, { success: false, message: 'Method not allowed.' }, [...rl, ['Allow', 'GET, POST']])],
        /Allow: "GET, POST" but the document has GET, HEAD/],
    ['a 200 for a method the path does not have', [api('PUT', '/api/v1/services/1', 200, { success: true, data: service })],
        /status 200 is not documented/],
    ['a 200 for a path the document does not have', [api('GET', '/api/v1/nothing-here', 200, { success: true, data: [] })],
        /status 200 is not documented/],
    ['an id that is not 1 to 18 digits treated as the route', [api('GET', '/api/v1/services/abc', 200, { success: true, data: service })],
        /a path the document does not have -> 200/],
    ['an unknown field in a webhook payload', [hook('appointment.created', { ...appointment, customer_phone: '+15550001111' })],
        /\/data must NOT have additional properties \(customer_phone\)/],
    ['a webhook without its signature header', [hook('call.ended', appointment, (h) => h.filter(([n]) => n !== 'X-KaiVox-Signature'))],
        /X-KaiVox-Signature is required but missing/],
    ['a webhook payload of another event than its header', [hook('appointment.cancelled', appointment, (h) => h.map(([n, v]) => [n, n === 'X-KaiVox-Event' ? 'appointment.created' : v]))],
        /\/event must be equal to constant/],
    ['a webhook event the document does not have', [hook('customer.created', { id: 1 })],
        /no webhook "customer.created"/],
    ['an undocumented webhook header', [hook('appointment.created', appointment, (h) => [...h, ['X-KaiVox-Debug', '1']])],
        /header X-KaiVox-Debug is not in the document/],
    ['an empty log', [], /has records/],
    ['an Idempotent-Replayed header that is not "true"', [api('POST', '/api/v1/customers', 422, { success: false, message: 'The given data was invalid.', errors: { phone: ['x'] } }, [...rl, ['Idempotent-Replayed', 'yes']])],
        /header Idempotent-Replayed: "yes" .*must be equal to one of the allowed values/],
];
for (const [what, records, expect] of cases) {
    const r = run(records);
    check(r.rc === 1 && expect.test(r.out), `${what} fails the check`,
        `exit ${r.rc}; expected ${expect} in: ${r.out.split('\n').filter((l) => !l.startsWith('#')).slice(0, 6).join(' | ')}`);
}

// The document's own rules: a schema opened up, an operation without 405.
const doc = parseYaml(readFileSync(docPath, 'utf8'));
delete doc.components.schemas.Service.additionalProperties;
delete doc.paths['/api/v1/services'].get.responses['405'];
doc.paths['/api/v1/customers'].post.parameters = doc.paths['/api/v1/customers'].post.parameters
    .filter((p) => !String(p.$ref ?? '').endsWith('/IdempotencyKey'));
delete doc.paths['/api/v1/calls'].post.responses['403'];
const broken = join(dir, 'openapi.yaml');
writeFileSync(broken, toYaml(doc));
const r = run(good, broken);
check(r.rc === 1 && /open object at .*Service/.test(r.out), 'a response schema without additionalProperties: false fails the check', r.out.slice(0, 300));
check(r.rc === 1 && /GET \/api\/v1\/services lacks 405/.test(r.out), 'an operation that does not list 405 fails the check', r.out.slice(0, 300));
check(r.rc === 1 && /POST \/api\/v1\/customers does not take the Idempotency-Key header/.test(r.out),
    'a write without the Idempotency-Key parameter fails the check', r.out.slice(0, 300));
check(r.rc === 1 && /POST \/api\/v1\/calls lacks 403/.test(r.out), 'a write without the read-only 403 fails the check', r.out.slice(0, 300));

rmSync(dir, { recursive: true, force: true });
process.exit(failed > 0 ? 1 : 0);
