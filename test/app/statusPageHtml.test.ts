import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loginPathFor } from "../../functions/app/statusPageHandler";
import { renderStatusPage } from "../../functions/app/statusPageHtml";
import { buildStatusReport, type LinkReport, type TransferStatusReport } from "../../functions/app/transferStatus";

const NOW = Date.parse("2026-12-06T04:00:00.000Z");

function report(link: LinkReport, extra: Partial<Pick<TransferStatusReport, "identity" | "destination">> = {}): TransferStatusReport {
  return buildStatusReport({ container: "outbox", records: [], link, lastSweep: undefined, queue: { name: "q" }, now: NOW, ...extra });
}

const render = (value: TransferStatusReport) => renderStatusPage(value, { nonce: "n0nce+/=", loginPath: "/api/auth/login", refreshSeconds: 15 });

describe("the status page's markup (what the browser test does not vary)", () => {
  test("app permission: the identity and destination, and no relink form", () => {
    const html = render(report({ linked: false, relinkNeeded: true, reason: "no account" }, {
      identity: { mode: "app", display: "app 1111… via managed identity (federated)" },
      destination: { display: "Finance › Documents › From Azure", kind: "library", driveId: "b!x" },
    }));
    assert.match(html, /<h2 id="link-heading">OneDrive connection<\/h2>/);
    assert.match(html, /Uploads as app 1111… via managed identity \(federated\)/);
    assert.match(html, /Destination: <strong>Finance › Documents › From Azure<\/strong>/);
    assert.doesNotMatch(html, /<form|Relink/);
  });

  test("delegated and linked: the account, or the identity's display when the app gives one; the destination", () => {
    assert.match(render(report({ linked: true, account: "you@outlook.com", relinkNeeded: false })), /Linked as you@outlook\.com\./);
    const named = render(report({ linked: true, account: "you@outlook.com", relinkNeeded: false }, { identity: { mode: "delegated", display: "You (you@outlook.com)" }, destination: { display: "OneDrive › From Azure", kind: "me" } }));
    assert.match(named, /Linked as You \(you@outlook\.com\)\./);
    assert.match(named, /Destination: <strong>OneDrive › From Azure<\/strong>/);
  });

  test("an unreadable token store says so; nothing else reads as linked", () => {
    const html = render(report({ linked: false, relinkNeeded: false, error: "could not read the sign-in state: <vault> forbidden" }));
    assert.match(html, /Link state unknown\.<\/strong> could not read the sign-in state: &lt;vault&gt; forbidden/);
  });

  test("the nonce is on the page's own style and script only, and the relink form names no key", () => {
    const html = render(report({ linked: false, relinkNeeded: true, reason: "revoked" }));
    assert.equal(html.split('nonce="n0nce+/="').length - 1, 2);
    assert.match(html, /<form method="get" action="\/api\/auth\/login">/);
    assert.match(html, /<input id="login-key" name="code" type="password" autocomplete="off" required>/);
    assert.doesNotMatch(html, /name="code"[^>]*value=/);
  });

  test("the relink form follows the host's route prefix", () => {
    assert.equal(loginPathFor({ url: "https://app.example/api/status?code=k" }), "/api/auth/login");
    assert.equal(loginPathFor({ url: "https://app.example/ops/status/" }), "/ops/auth/login");
    assert.equal(loginPathFor({ url: "https://app.example/elsewhere" }), "/api/auth/login");
  });
});
