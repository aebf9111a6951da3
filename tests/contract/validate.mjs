#!/usr/bin/env node
// validate.mjs -- the contract check: every public-API response the
// end-to-end tests received, and every webhook request their receivers got,
// is checked against docs/openapi.yaml, so that the document and the server
// cannot drift apart.
//
//   node tests/contract/validate.mjs [--doc docs/openapi.yaml] LOG.jsonl
//
// LOG.jsonl is what tests/lib/kvt.c and tests/tools/webhook_receiver.c write
// when KVT_CONTRACT_LOG is set (one JSON object a line: src "api" or
// "webhook", test, method, target, status, headers [[name, value], ...],
// body).  tests/run.sh runs this after the end-to-end tests.
//
// For an answer of the API (src "api"):
//   - the request is matched to its operation by path template and method,
//     the way the gateway routes (an integer path parameter is 1 to 18
//     digits, services/gateway/gw_routes.c);
//   - a path the document has, with a method it does not have, must get one
//     of the answers that come before the route (those of
//     x-unrouted-responses but 404) or the operations' 405, whose Allow
//     header must name exactly the path's documented methods;
//   - a path the document does not have must get one of
//     x-unrouted-responses;
//   - the status must be documented for the operation; every documented
//     response header that is required must be there, every one that is
//     there must match its schema, and a header the document does not list
//     fails (plain HTTP framing headers aside); the Content-Type must be a
//     documented media type and the body must validate against the closed
//     schema (Ajv, JSON Schema 2020-12, with formats): an unknown field or
//     a wrong type fails.
// For a webhook request (src "webhook"): the X-KaiVox-Event header names the
// entry of `webhooks`, whose header parameters and request body schema the
// request must match the same way.
//
// Output: one "PASS contract ..." / "FAIL contract ..." line per operation
// and status seen (tests/run.sh counts them), a few indented lines of detail
// per failure, and a coverage summary of the documented operation/status
// pairs no test exercised ("# ..." lines).  Exit status 1 when anything
// failed or the log is empty, 2 on a usage or document error.

import { readFileSync } from 'node:fs';
import { checkContract } from './contract.mjs';

// ---- arguments -----------------------------------------------------------

let docPath = 'docs/openapi.yaml';
let logPath = null;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--doc' && i + 1 < argv.length) docPath = argv[++i];
    else if (!argv[i].startsWith('-') && !logPath) logPath = argv[i];
    else usage();
}
if (!logPath) usage();

function usage() {
    console.error('usage: node tests/contract/validate.mjs [--doc docs/openapi.yaml] LOG.jsonl');
    process.exit(2);
}

let lines;
try {
    lines = readFileSync(logPath, 'utf8').split('\n').filter((l) => l.length > 0);
} catch (e) {
    console.log(`FAIL contract log ${logPath} is readable: ${e.code ?? e.message}`);
    process.exit(1);
}
const { out, failed } = checkContract(docPath, lines);
for (const l of out) console.log(l);
process.exit(failed > 0 ? 1 : 0);
