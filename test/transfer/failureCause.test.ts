import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RelinkRequiredError } from "../../functions/auth/relinkRequiredError";
import { adviceFor } from "../../functions/app/failureAdvice";
import { GraphError, GraphNetworkError } from "../../functions/onedrive/graphError";
import { ThrottledError } from "../../functions/onedrive/throttle";
import { BlobChangedError } from "../../functions/storage/blobSource";
import type { FailureCause } from "../../functions/storage/ledgerRow";
import { outcomeAttributes } from "../../functions/telemetry/telemetry";
import { OUTCOME_PROPERTIES } from "../../functions/telemetry/telemetryNames";
import { failureFields, outcomeFailureFields } from "../../functions/transfer/failureCause";
import { PermanentUploadError } from "../../functions/transfer/sessionUpload";
import { EarlierUploadUnconfirmedError } from "../../functions/transfer/uploadPaths/interruptedRecovery";

const REQUEST_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

function graphError(status: number, code: string, inner: string[] = [], extra: { retryAfterMs?: number; requestId?: string } = {}): GraphError {
  let innererror: Record<string, unknown> | undefined;
  for (const innerCode of [...inner].reverse()) innererror = { code: innerCode, ...(innererror ? { innererror } : {}) };
  const headers = new Map([["request-id", extra.requestId ?? REQUEST_ID]]);
  return new GraphError({
    method: "PUT", url: "https://graph.microsoft.com/v1.0/me/drive/root:/x:/content?tempauth=secret", status,
    headers: { get: (name) => headers.get(name) }, bodyText: JSON.stringify({ error: { code, message: "m", ...(innererror ? { innererror } : {}) } }),
    retryAfterMs: extra.retryAfterMs,
  });
}

describe("failure causes: what the ledger row records beside the message", () => {
  test("Graph answers map to the cause a person acts on, with the most specific code and the request id", () => {
    const cases: Array<[GraphError, FailureCause, string]> = [
      [graphError(400, "invalidRequest", ["invalidPath"]), "refusedName", "invalidPath"],
      [graphError(409, "nameAlreadyExists"), "nameConflict", "nameAlreadyExists"],
      [graphError(507, "quotaLimitReached"), "quota", "quotaLimitReached"],
      [graphError(429, "activityLimitReached", ["throttledRequest"], { retryAfterMs: 5_000 }), "throttled", "throttledRequest"],
      [graphError(401, "InvalidAuthenticationToken"), "signInRefused", "InvalidAuthenticationToken"],
      [graphError(403, "accessDenied"), "accessDenied", "accessDenied"],
      [graphError(502, ""), "serviceError", "HTTP 502"],
      [graphError(400, "invalidRequest"), "refusedByOneDrive", "invalidRequest"],
    ];
    for (const [error, cause, code] of cases) {
      assert.deepEqual(failureFields(error), { lastErrorCause: cause, lastErrorCode: code, lastRequestId: REQUEST_ID }, error.message);
    }
  });

  test("errors that wrap a Graph answer, and those without one", () => {
    assert.deepEqual(failureFields(new PermanentUploadError("verification failed", graphError(409, "resourceModified"))), { lastErrorCause: "refusedByOneDrive", lastErrorCode: "resourceModified", lastRequestId: REQUEST_ID });
    assert.deepEqual(failureFields(new PermanentUploadError("QuickXorHash mismatch")), { lastErrorCause: "uploadRejected" });
    assert.deepEqual(failureFields(new RelinkRequiredError("revoked")), { lastErrorCause: "relinkNeeded", lastErrorCode: "RelinkRequired" });
    assert.deepEqual(failureFields(new ThrottledError("Graph", 90_000, "Retry-After 90")), { lastErrorCause: "throttled" });
    assert.deepEqual(failureFields(new GraphNetworkError({ method: "PUT", url: "https://up.example/x?tempauth=secret", code: "ECONNRESET", detail: "socket hang up" })), { lastErrorCause: "network", lastErrorCode: "ECONNRESET" });
    assert.deepEqual(failureFields(Object.assign(new Error("fetch failed"), { cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }) })), { lastErrorCause: "network", lastErrorCode: "ECONNREFUSED" });
    assert.equal(failureFields(new BlobChangedError("a.txt", "0x1")).lastErrorCause, "blobChanged");
    assert.deepEqual(failureFields(new EarlierUploadUnconfirmedError("no quickXorHash reported")), { lastErrorCause: "serviceError", lastErrorCode: "HashNotReported" });
    assert.deepEqual(failureFields(new TypeError("undefined is not a function")), { lastErrorCause: "unexpected" });
    assert.deepEqual(failureFields("a string was thrown"), { lastErrorCause: "unexpected" });
  });

  test("only identifiers are kept: a code or request id that is a URL or a sentence is not", () => {
    const hostile = graphError(400, "https://evil.example/?token=abc", ["see https://x.example/?tempauth=secret"], { requestId: "id with spaces https://x" });
    const fields = failureFields(hostile);
    assert.deepEqual(fields, { lastErrorCause: "refusedByOneDrive", lastErrorCode: "HTTP 400" });
    assert.ok(!JSON.stringify(fields).includes("secret"));
  });

  test("a file's outcome, and so its telemetry record, names a failure as the ledger row does, identifiers only", () => {
    const telemetryOf = (error: unknown) =>
      outcomeAttributes({ blob: "in/x.bin", path: "x.bin", status: "failed", bytes: 0, fragments: 0, ...outcomeFailureFields(error) }, { source: "worker" });
    const hostile = graphError(404, "https://evil.example/?token=abc", ["see https://x.example/?tempauth=secret"], { requestId: "id with spaces https://x" });
    const record = telemetryOf(hostile);
    assert.equal(record[OUTCOME_PROPERTIES.errorCode], "HTTP 404");
    assert.equal(record[OUTCOME_PROPERTIES.errorCode], failureFields(hostile).lastErrorCode);
    assert.equal(record[OUTCOME_PROPERTIES.graphRequestId], undefined);
    assert.ok(!JSON.stringify(record).includes("evil") && !JSON.stringify(record).includes("secret"), JSON.stringify(record));

    const quota = graphError(507, "quotaLimitReached");
    assert.deepEqual(
      [telemetryOf(quota)[OUTCOME_PROPERTIES.errorCode], telemetryOf(quota)[OUTCOME_PROPERTIES.graphRequestId]],
      [failureFields(quota).lastErrorCode, failureFields(quota).lastRequestId],
    );
    assert.equal(telemetryOf(graphError(502, ""))[OUTCOME_PROPERTIES.errorCode], "HTTP 502");
    // Without a code, the cause stands in (never the error's own name, which any thrown object can set).
    assert.equal(telemetryOf(new PermanentUploadError("QuickXorHash mismatch"))[OUTCOME_PROPERTIES.errorCode], "uploadRejected");
    assert.equal(telemetryOf(Object.assign(new Error("x"), { name: "see https://evil.example" }))[OUTCOME_PROPERTIES.errorCode], "unexpected");
  });

  test("every cause has advice in words, and rows without a cause still read", () => {
    for (const cause of ["refusedName", "nameConflict", "quota", "throttled", "relinkNeeded", "signInRefused", "accessDenied", "refusedByOneDrive", "uploadRejected", "blobChanged", "network", "serviceError", "storage", "poisoned", "unexpected"] as FailureCause[]) {
      const advice = adviceFor(cause, "failed");
      assert.ok(advice.cause.length > 10 && advice.action.endsWith("."), cause);
    }
    assert.equal(adviceFor(undefined, "failed").cause, "The transfer failed");
    assert.equal(adviceFor("toString" as FailureCause, "uploading").cause, "The last attempt did not finish");
  });
});
