// docs_check.mjs -- keeps docs/api.md, docs/openapi.yaml and README.md true
// to the code (run by test_docs.sh, in `make test`).  Prints PASS/FAIL lines.
//
//   1. every route of `kaivox-gateway --print-routes` is a row of docs/api.md
//      ("| `METHOD` | `PATH` |") and an operation of docs/openapi.yaml;
//   2. every error message the gateway itself sends on the public listener
//      (gw_reply_error, the console's s_error, the canned accept-time
//      answers, the broker's 5xx bodies, the query-string and
//      Idempotency-Key messages, the bus's "too large", the sync messages)
//      appears word for word in docs/api.md;
//   3. every KAIVOX_* setting the code reads (a "KAIVOX_..." string in the C
//      sources, a ${KAIVOX_...} in scripts/) appears in README.md;
//   4. no document points at "the reference" outside the repository.
//
// Usage: node tests/shell/docs_check.mjs GATEWAY_BINARY
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { parse } from "yaml";

const gateway = process.argv[2];
const read = (p) => readFileSync(p, "utf8");
const api = read("docs/api.md");
const readme = read("README.md");
const openapi = parse(read("docs/openapi.yaml"));
let failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? "PASS" : "FAIL"} ${what}`);
  if (!ok) failed++;
};

// ---- 1. routes ---------------------------------------------------------------
const routes = execFileSync(gateway, ["--print-routes"], { encoding: "utf8" })
  .trim().split("\n").map((l) => l.split(" ").slice(0, 2));
check(routes.length >= 30, `kaivox-gateway --print-routes prints the routes (${routes.length})`);
const rows = new Set();
for (const m of api.matchAll(/^\| `([A-Z]+)` \| `([^`]+)` \|/gm)) rows.add(`${m[1]} ${m[2]}`);
const missingApi = routes.filter(([m, p]) => !rows.has(`${m} ${p}`)).map((r) => r.join(" "));
check(missingApi.length === 0,
  `every route is a row of docs/api.md${missingApi.length ? ": missing " + missingApi.join(", ") : ""}`);
const missingOas = routes.filter(([m, p]) => !openapi.paths?.[p]?.[m.toLowerCase()]).map((r) => r.join(" "));
check(missingOas.length === 0,
  `every route is an operation of docs/openapi.yaml${missingOas.length ? ": missing " + missingOas.join(", ") : ""}`);
// and the other way round: no documented /api/v1 route the gateway does not have
const printed = new Set(routes.map((r) => r.join(" ")));
const extra = [...rows].filter((r) => r.split(" ")[1].startsWith("/api/v1/") && !printed.has(r));
check(extra.length === 0, `docs/api.md documents no /api/v1 route the gateway lacks${extra.length ? ": " + extra.join(", ") : ""}`);

// ---- 2. error messages --------------------------------------------------------
// C string literals, adjacent ones joined, escapes decoded.
const cstr = (s) => [...s.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`)).join("");
const strings = String.raw`((?:"(?:[^"\\]|\\.)*"\s*)+)`;
const messages = new Map();   // message -> where
const add = (msg, where) => { if (!messages.has(msg)) messages.set(msg, where); };
const gwdir = "services/gateway";
// Every string literal (adjacent ones joined) among the arguments of a call
// that answers an HTTP client with an error, ternaries included.
const literalsOf = (args) => [...args.matchAll(new RegExp(strings, "g"))].map((m) => cstr(m[1]));
const callArgs = (src, name) => {
  const out = [];
  const re = new RegExp(String.raw`\b${name}\(`, "g");
  for (const m of src.matchAll(re)) {
    // up to the call's closing parenthesis, outside string literals
    let i = m.index + m[0].length, depth = 1, inStr = false;
    for (; i < src.length && depth > 0; i++) {
      const c = src[i];
      if (inStr) { if (c === "\\") i++; else if (c === '"') inStr = false; }
      else if (c === '"') inStr = true;
      else if (c === "(") depth++;
      else if (c === ")") depth--;
    }
    out.push(src.slice(m.index + m[0].length, i - 1));
  }
  return out;
};
for (const f of readdirSync(gwdir).filter((f) => f.endsWith(".c"))) {
  if (f === "gw_admin.c" || f === "gw_users.c") continue;   // the operators' admin listener
  const src = read(`${gwdir}/${f}`).replace(/\/\*[\s\S]*?\*\//g, "");
  for (const name of ["gw_reply_error", "s_error", "s_unauthorized"])
    for (const a of callArgs(src, name))
      for (const l of literalsOf(a)) if (!l.startsWith("Bearer")) add(l, f);   // not WWW-Authenticate
  for (const a of callArgs(src, "s_canned")) for (const l of literalsOf(a).slice(1)) add(l, f);  // not the reason phrase
  for (const m of src.matchAll(new RegExp(String.raw`\bmsg = ` + strings + ";", "g"))) add(cstr(m[1]), f);
  // a body made up for an empty reply
  for (const m of src.matchAll(new RegExp(String.raw`\\"message\\":\\"%s\\"}",\s*([^;]+);`, "g")))
    for (const l of literalsOf(m[1])) add(l, f);
}
const input = read(`${gwdir}/gw_input.c`);
for (const m of input.matchAll(new RegExp(String.raw`case GW_INPUT_\w+:\s*return ` + strings + ";", "g")))
  add(cstr(m[1]), "gw_input.c");
// The broker's canned bodies for HTTP clients (S_400 / S_505 answer bus clients only).
const broker = read(`${gwdir}/gw_broker.c`);
for (const m of broker.matchAll(new RegExp(String.raw`static const char (S_\w+)\[\] =\s*` + strings + ";", "g"))) {
  if (m[1] === "S_400" || m[1] === "S_505") continue;
  add(JSON.parse(cstr(m[2])).message, "gw_broker.c");
}
const opMsg = broker.match(/"\{\\"success\\":false,\\"message\\":\\"(Operation '%s' is not served by any )"\s*"(live instance of %s\.)/);
check(!!opMsg, "the broker's 501 message found in gw_broker.c");
if (opMsg) add((opMsg[1] + opMsg[2]).replace("'%s'", "'<op>'").replace("of %s.", "of <service>."), "gw_broker.c");
const bus = read("shared/kv_bus.c").match(/\\"message\\":\\"(The response is too large to send\.)\\"/);
check(!!bus, "the bus's too-large message found in shared/kv_bus.c");
if (bus) add(bus[1], "kv_bus.c");
const sync = read("shared/kv_sync.c").replace(/\\\n/g, " ");
for (const m of sync.matchAll(new RegExp(String.raw`#define S_MSG_\w+ ` + strings, "g"))) add(cstr(m[1]), "kv_sync.c");
const idem = read("shared/kv_idem.c");
for (const a of callArgs(idem, "s_error")) for (const l of literalsOf(a)) if (l.includes(" ")) add(l, "kv_idem.c");

check(messages.size >= 30, `error messages found in the gateway's sources (${messages.size})`);
if (process.env.DOCS_CHECK_LIST) for (const [m, w] of messages) console.log(`# ${w}: ${m}`);
const flat = api.replace(/\s+/g, " ");
const undocumented = [...messages].filter(([msg]) => !flat.includes(msg));
for (const [msg, where] of undocumented) check(false, `docs/api.md lacks the message "${msg}" (${where})`);
check(undocumented.length === 0, `every error message of the gateway is in docs/api.md (${messages.size})`);

// ---- 3. settings -----------------------------------------------------------------
const vars = new Set();
const walk = (dir, ext, re) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) walk(p, ext, re);
    else if (ext.some((x) => e.name.endsWith(x))) for (const m of read(p).matchAll(re)) vars.add(m[1]);
  }
};
for (const d of ["services", "shared", "cli"]) walk(d, [".c", ".h"], /"(KAIVOX_[A-Z0-9_]+)/g);
walk("scripts", [".sh"], /\$\{?(KAIVOX_[A-Z0-9_]+)/g);
const unset = [...vars].filter((v) => !readme.includes("`" + v + "`") && !/_$/.test(v));
check(vars.size >= 40, `KAIVOX_* settings read by the code (${vars.size})`);
check(unset.length === 0, `every KAIVOX_* setting the code reads is in README.md${unset.length ? ": missing " + unset.join(", ") : ""}`);

// ---- 4. no pointer outside the repository --------------------------------------
const outside = [["README.md", readme], ["docs/api.md", api], ["docs/openapi.yaml", read("docs/openapi.yaml")]]
  .filter(([, text]) => /shared\/spec|api-reference\.txt|\bthe (API )?reference\b/i.test(text.replace(/API reference \(`docs\/api\.md`\)/g, "")))
  .map(([f]) => f);
check(outside.length === 0, `no document points at a reference outside the repository${outside.length ? ": " + outside.join(", ") : ""}`);

process.exit(failed ? 1 : 0);
