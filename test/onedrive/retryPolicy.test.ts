import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHttpHeaders, RestError } from "@azure/core-rest-pipeline";
import { GraphError, GraphNetworkError, isTransientNetworkError } from "../../functions/onedrive/graphError";
import { backoffDelayMs, parseRetryAfterMs, retryDelayMs } from "../../functions/onedrive/retryPolicy";

function response(status: number, headers: Record<string, string> = {}): { status: number; headers: ReturnType<typeof createHttpHeaders> } {
  return { status, headers: createHttpHeaders(headers) };
}

function networkError(code: string, message = `connect ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

const fixedRandom = { random: () => 0.5 };

describe("retryDelayMs", () => {
  test("429 and 503 obey Retry-After in seconds, also when it means minutes", () => {
    assert.equal(retryDelayMs(response(429, { "Retry-After": "2" }), 1), 2000);
    assert.equal(retryDelayMs(response(503, { "Retry-After": "315" }), 1), 315_000);
    assert.equal(retryDelayMs(response(429, { "Retry-After": "0" }), 1), 0);
  });

  test("Retry-After as an HTTP date is measured against the injected clock", () => {
    const now = Date.parse("2026-03-01T10:00:00Z");
    const delay = retryDelayMs(response(429, { "Retry-After": "Sun, 01 Mar 2026 10:00:41 GMT" }), 1, { now: () => now });
    assert.equal(delay, 41_000);
    assert.equal(retryDelayMs(response(503, { "Retry-After": "Sun, 01 Mar 2026 09:59:00 GMT" }), 1, { now: () => now }), 0);
  });

  test("retry-after-ms and x-ms-retry-after-ms win over Retry-After", () => {
    assert.equal(retryDelayMs(response(429, { "retry-after-ms": "250", "Retry-After": "9" }), 1), 250);
    assert.equal(retryDelayMs(response(503, { "x-ms-retry-after-ms": "1500" }), 1), 1500);
  });

  test("a Retry-After beyond maxRetryAfterMs is left to the caller", () => {
    assert.equal(retryDelayMs(response(429, { "Retry-After": "3600" }), 1, { maxRetryAfterMs: 600_000 }), undefined);
  });

  test("429 without Retry-After backs off exponentially with full jitter", () => {
    assert.equal(retryDelayMs(response(429), 1, fixedRandom), 500);
    assert.equal(retryDelayMs(response(429), 2, fixedRandom), 1000);
    assert.equal(retryDelayMs(response(429), 3, fixedRandom), 2000);
    assert.equal(retryDelayMs(response(429), 1, { random: () => 0 }), 0);
  });

  test("500, 502, 504 and 503 without Retry-After back off; the wait is capped", () => {
    for (const status of [500, 502, 503, 504]) assert.equal(retryDelayMs(response(status), 2, fixedRandom), 1000, `status ${status}`);
    assert.equal(retryDelayMs(response(500), 6, { random: () => 0.999999, maxAttempts: 20 }), 31_999);
    assert.equal(retryDelayMs(response(500), 7, { random: () => 0.999999, maxAttempts: 20 }), 59_999);
    assert.equal(retryDelayMs(response(500), 15, { random: () => 0.999999, maxAttempts: 20 }), 59_999);
  });

  test("other 4xx, 501 and 505 are not retried", () => {
    for (const status of [400, 401, 403, 404, 409, 412, 413, 416, 501, 505, 507]) {
      assert.equal(retryDelayMs(response(status, { "Retry-After": "1" }), 1), undefined, `status ${status}`);
    }
  });

  test("the attempt limit stops retries", () => {
    assert.equal(retryDelayMs(response(500), 2, { maxAttempts: 3, ...fixedRandom }), 1000);
    assert.equal(retryDelayMs(response(500), 3, { maxAttempts: 3 }), undefined);
    assert.equal(retryDelayMs(response(429, { "Retry-After": "1" }), 3, { maxAttempts: 3 }), undefined);
  });

  test("network errors back off; a caller's abort does not", () => {
    for (const code of ["ECONNRESET", "ETIMEDOUT", "ECONNREFUSED", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT"]) {
      assert.equal(retryDelayMs(networkError(code), 1, fixedRandom), 500, code);
    }
    const abort = Object.assign(new Error("aborted"), { name: "AbortError" });
    assert.equal(retryDelayMs(abort, 1), undefined);
    assert.equal(retryDelayMs(new Error("something else"), 1), undefined);
  });

  test("GraphError and RestError are judged by their status and Retry-After", () => {
    const throttled = new GraphError({ method: "GET", url: "https://graph.example/v1.0/me", status: 429, retryAfterMs: 7000 });
    assert.equal(retryDelayMs(throttled, 1), 7000);
    const conflict = new GraphError({ method: "PUT", url: "https://graph.example/v1.0/me", status: 409 });
    assert.equal(retryDelayMs(conflict, 1), undefined);
    const restError = new RestError("reset", { code: "ECONNRESET" });
    assert.equal(retryDelayMs(restError, 1, fixedRandom), 500);
    const wrapped = new GraphNetworkError({ method: "PUT", url: "https://up.example/x", code: "ECONNRESET", detail: "socket hang up" });
    assert.equal(retryDelayMs(wrapped, 1, fixedRandom), 500);
  });
});

describe("parseRetryAfterMs and backoffDelayMs", () => {
  test("unparseable values give undefined", () => {
    assert.equal(parseRetryAfterMs(createHttpHeaders({ "Retry-After": "soon" })), undefined);
    assert.equal(parseRetryAfterMs(createHttpHeaders({})), undefined);
  });

  test("backoff ceilings double from the base", () => {
    const ceilings = [1, 2, 3, 4].map((attempt) => backoffDelayMs(attempt, { random: () => 0.999999, baseDelayMs: 100 }));
    assert.deepEqual(ceilings, [99, 199, 399, 799]);
  });
});

describe("isTransientNetworkError", () => {
  test("recognises codes, socket hang up and undici causes", () => {
    assert.equal(isTransientNetworkError(networkError("ECONNRESET")), true);
    assert.equal(isTransientNetworkError(new Error("socket hang up")), true);
    const fetchFailed = new TypeError("fetch failed", { cause: networkError("UND_ERR_SOCKET", "other side closed") });
    assert.equal(isTransientNetworkError(fetchFailed), true);
    assert.equal(isTransientNetworkError(networkError("UND_ERR_ABORTED")), false);
    assert.equal(isTransientNetworkError(networkError("DEPTH_ZERO_SELF_SIGNED_CERT")), false);
    assert.equal(isTransientNetworkError(new GraphError({ method: "GET", url: "https://g/x", status: 500 })), false);
    assert.equal(isTransientNetworkError(undefined), false);
  });
});
