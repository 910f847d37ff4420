import assert from "node:assert/strict";
import { test } from "node:test";
import type { HttpResponseInit } from "@azure/functions";
import type { SignInFailureKind } from "../../functions/auth/signInFlow";
import { configurationProblemPage, failurePage, linkedPage, transactionProblemPage } from "../../functions/auth/signInPages";

// Listed as a Record so a new failure kind fails to compile here until its page is covered too.
const FAILURE_KINDS: Record<SignInFailureKind, true> = {
  denied: true,
  identityError: true,
  stateMismatch: true,
  missingCode: true,
  codeRejected: true,
  tokenEndpointError: true,
  notExpectedAccount: true,
  differentAccountLinked: true,
  storeFailed: true,
  otherTenant: true,
  idTokenRejected: true,
};

test("every sign-in page, success or failure, is HTML with Cache-Control: no-store", () => {
  const pages: Array<[string, HttpResponseInit]> = [
    ["linked", linkedPage("someone@example.com", "Someone")],
    ...(["missing", "forged", "expired"] as const).map((reason): [string, HttpResponseInit] => [`transaction ${reason}`, transactionProblemPage(reason)]),
    ...(Object.keys(FAILURE_KINDS) as SignInFailureKind[]).map((kind): [string, HttpResponseInit] => [`failure ${kind}`, failurePage(kind, "detail", "linked@example.com")]),
    ["configuration", configurationProblemPage()],
  ];
  assert.equal(pages.length, 1 + 3 + Object.keys(FAILURE_KINDS).length + 1);
  for (const [what, page] of pages) {
    const headers = new Headers(page.headers);
    assert.match(headers.get("content-type") ?? "", /^text\/html/, what);
    assert.equal(headers.get("cache-control"), "no-store", what);
  }
});
