// receiver.mjs -- a KaiVox webhook receiver that verifies both signatures
// of every delivery before trusting it:
//
//   webhook-id / webhook-timestamp / webhook-signature  (Standard Webhooks,
//       checked with the `standardwebhooks` npm library: the signature over
//       "<id>.<timestamp>.<body>", keyed with the base64 bytes after
//       "whsec_", and a timestamp within 5 minutes of now);
//   X-KaiVox-Signature  (lowercase hex HMAC-SHA256 of the exact body bytes,
//       keyed with the whole secret string, "whsec_" included).
//
// A delivery whose two signatures verify gets 204; anything else 400 (not
// a POST with a body) or 401 (a signature missing or wrong), and the
// event is not acted upon.  Deduplicate on webhook-id: a delivery can
// arrive twice (at-least-once).
//
// Environment:
//   WEBHOOK_SECRET   the endpoint's secret, "whsec_..." (required)
//   PORT             port to listen on (default 3000), on HOST (127.0.0.1)
//   RECEIVER_LOG     optional file: one JSON line per request received
//                    ({event, delivery, standard_webhooks, kaivox_signature, status})
//
// Run: npm ci && WEBHOOK_SECRET=whsec_... node receiver.mjs
import { createServer } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";
import { appendFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const secret = process.env.WEBHOOK_SECRET ?? "";
if (!secret.startsWith("whsec_")) {
  console.error("receiver: set WEBHOOK_SECRET to the endpoint's secret (whsec_...)");
  process.exit(2);
}
const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";
const logFile = process.env.RECEIVER_LOG;
const standard = new Webhook(secret);   // strips "whsec_" and base64-decodes the rest
const MAX_BODY = 4 * 1024 * 1024;       // a call with its transcript is at most ~2.4 MB

// X-KaiVox-Signature: hex HMAC-SHA256(secret string, raw body), compared in
// constant time.
function kaivoxSignatureOk(body, header) {
  if (typeof header !== "string" || !/^[0-9a-f]{64}$/.test(header)) return false;
  const mine = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(mine, Buffer.from(header, "hex"));
}

// Standard Webhooks: the library checks the signature (any of the
// space-separated "v1,..." entries: two during a secret rotation) and the
// timestamp; it throws on anything wrong.
function standardWebhooksOk(body, headers) {
  try {
    standard.verify(body, {
      "webhook-id": headers["webhook-id"],
      "webhook-timestamp": headers["webhook-timestamp"],
      "webhook-signature": headers["webhook-signature"],
    });
    return true;
  } catch {
    return false;
  }
}

function record(entry) {
  if (logFile) appendFileSync(logFile, JSON.stringify(entry) + "\n");
}

const server = createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on("data", (c) => {
    size += c.length;
    if (size > MAX_BODY) { res.writeHead(413).end(); req.destroy(); return; }
    chunks.push(c);
  });
  req.on("end", () => {
    if (res.writableEnded) return;
    const body = Buffer.concat(chunks);   // the raw bytes: never re-serialize before verifying
    const entry = {
      event: req.headers["x-kaivox-event"] ?? null,
      delivery: req.headers["x-kaivox-delivery"] ?? null,
      webhook_id: req.headers["webhook-id"] ?? null,
      standard_webhooks: false,
      kaivox_signature: false,
      status: 400,
    };
    if (req.method === "POST" && body.length > 0) {
      entry.standard_webhooks = standardWebhooksOk(body, req.headers);
      entry.kaivox_signature = kaivoxSignatureOk(body, req.headers["x-kaivox-signature"]);
      entry.status = entry.standard_webhooks && entry.kaivox_signature ? 204 : 401;
    }
    record(entry);
    res.writeHead(entry.status).end();
    if (entry.status === 204) {
      // Answer first, then work: the event is trusted from here on.
      const event = JSON.parse(body.toString("utf8"));
      console.log(`receiver: ${event.event} ${event.id} verified`);
    } else {
      console.log(`receiver: refused a request (${entry.status})`);
    }
  });
});

server.listen(port, host, () => console.log(`receiver: listening on http://${host}:${port}/`));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.close(() => process.exit(0)));
