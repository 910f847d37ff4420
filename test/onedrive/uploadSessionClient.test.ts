import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHttpHeaders, type HttpClient, type PipelineRequest } from "@azure/core-rest-pipeline";
import { nextExpectedOffset, UploadSessionClient, type UploadSessionClientOptions } from "../../functions/onedrive/uploadSessionClient";
import { GraphError, GraphNetworkError, isTransientNetworkError } from "../../functions/onedrive/graphError";
import { recordingSleep, startScriptedServer, type ScriptedAnswer, type ScriptedHandler, type ScriptedServer } from "./scriptedServer";

const TEMPAUTH = "tempauth-secret-value";

async function withUploads(
  script: ScriptedHandler | ScriptedAnswer[],
  run: (uploads: UploadSessionClient, uploadUrl: string, server: ScriptedServer, delays: number[]) => Promise<void>,
  options: UploadSessionClientOptions = {},
): Promise<void> {
  const server = await startScriptedServer(script);
  const { sleep, delays, now } = recordingSleep();
  try {
    const uploads = new UploadSessionClient({ allowInsecureConnection: true, retry: { sleep, now, random: () => 0.5 }, ...options });
    await run(uploads, `${server.origin}/up/session-1?guid='x'&tempauth=${TEMPAUTH}`, server, delays);
  } finally {
    await server.close();
  }
}

const accepted = (next: string): ScriptedAnswer => ({ status: 202, json: { expirationDateTime: "2026-01-01T00:15:00Z", nextExpectedRanges: [next] } });

describe("UploadSessionClient.putFragment", () => {
  test("Content-Range and Content-Length are exact for a 1-byte file", async () => {
    await withUploads([{ status: 201, json: { id: "item", name: "one.bin", size: 1 } }], async (uploads, uploadUrl, server) => {
      const result = await uploads.putFragment(uploadUrl, 0, Buffer.from([0x4a]), 1);
      assert.deepEqual(result, { kind: "completed", item: { id: "item", name: "one.bin", size: 1 }, created: true });
      const [request] = server.requests;
      assert.equal(request.method, "PUT");
      // The WHATWG URL parser percent-encodes the quotes SharePoint puts in guid='…'; servers decode them back.
      assert.equal(request.url, `/up/session-1?guid=%27x%27&tempauth=${TEMPAUTH}`);
      assert.equal(request.headers["content-range"], "bytes 0-0/1");
      assert.equal(request.headers["content-length"], "1");
      assert.deepEqual(request.body, Buffer.from([0x4a]));
    });
  });

  test("327,680-byte fragments and a short last fragment; 202 then 200 (replaced)", async () => {
    const total = 700_000;
    const content = Buffer.alloc(total, 7);
    await withUploads(
      [accepted("327680-"), accepted("655360-"), { status: 200, json: { id: "item", name: "f.bin", size: total } }],
      async (uploads, uploadUrl, server) => {
        const first = await uploads.putFragment(uploadUrl, 0, content.subarray(0, 327_680), total);
        assert.deepEqual(first, { kind: "accepted", nextExpectedRanges: ["327680-"], expirationDateTime: "2026-01-01T00:15:00Z" });
        await uploads.putFragment(uploadUrl, 327_680, content.subarray(327_680, 655_360), total);
        const last = await uploads.putFragment(uploadUrl, 655_360, content.subarray(655_360), total);
        assert.equal(last.kind, "completed");
        assert.equal(last.kind === "completed" && last.created, false);
        assert.deepEqual(
          server.requests.map((request) => [request.headers["content-range"], request.headers["content-length"], request.body.length]),
          [
            ["bytes 0-327679/700000", "327680", 327_680],
            ["bytes 327680-655359/700000", "327680", 327_680],
            ["bytes 655360-699999/700000", "44640", 44_640],
          ],
        );
      },
    );
  });

  test("no Authorization header on any upload URL request", async () => {
    await withUploads(
      [accepted("10-"), { status: 200, json: { nextExpectedRanges: ["10-"] } }, { status: 204 }],
      async (uploads, uploadUrl, server) => {
        await uploads.putFragment(uploadUrl, 0, Buffer.alloc(10), 20);
        await uploads.getStatus(uploadUrl);
        await uploads.cancel(uploadUrl);
        assert.deepEqual(server.requests.map((request) => request.method), ["PUT", "GET", "DELETE"]);
        for (const request of server.requests) {
          assert.equal(request.headers.authorization, undefined, `${request.method} carried Authorization`);
          assert.match(String(request.headers["user-agent"]), /^NONISV\|onedrive-connector\|onedrive-connector\//);
        }
      },
    );
  });

  test("a failed fragment is not retried, and its error hides the upload URL's credential", async () => {
    await withUploads(
      [{ status: 503, headers: { "Retry-After": "30", "request-id": "up-rid" }, json: { error: { code: "serviceNotAvailable", message: "busy" } } }],
      async (uploads, uploadUrl, server, delays) => {
        const error = await uploads.putFragment(uploadUrl, 0, Buffer.alloc(5), 5).then(() => undefined, (caught: unknown) => caught);
        assert.ok(error instanceof GraphError);
        assert.equal(error.status, 503);
        assert.equal(error.retryAfterMs, 30_000);
        assert.equal(error.requestId, "up-rid");
        assert.equal(error.url, `${server.origin}/up/session-1`);
        assert.doesNotMatch(error.message, new RegExp(TEMPAUTH));
        assert.match(error.message, /^Upload session PUT \/up\/session-1 failed: 503 serviceNotAvailable \(request-id up-rid\): busy/);
        assert.equal(server.requests.length, 1);
        assert.deepEqual(delays, []);
      },
    );
  });

  test("416 fragmentOverlap comes back with its inner code", async () => {
    const overlap = { error: { code: "invalidRange", message: "Uploaded fragment overlaps with existing data.", innererror: { code: "fragmentOverlap" } } };
    await withUploads([{ status: 416, json: overlap }], async (uploads, uploadUrl) => {
      const error = await uploads.putFragment(uploadUrl, 0, Buffer.alloc(5), 10).then(() => undefined, (caught: unknown) => caught);
      assert.ok(error instanceof GraphError);
      assert.equal(error.status, 416);
      assert.ok(error.hasCode("fragmentOverlap"));
    });
  });

  test("a dropped connection surfaces as a transient GraphNetworkError without the credential", async () => {
    await withUploads(["drop"], async (uploads, uploadUrl, server) => {
      const error = await uploads.putFragment(uploadUrl, 0, Buffer.alloc(5), 5).then(() => undefined, (caught: unknown) => caught);
      assert.ok(error instanceof GraphNetworkError, String(error));
      assert.ok(isTransientNetworkError(error));
      assert.doesNotMatch(error.message, new RegExp(TEMPAUTH));
      assert.doesNotMatch(JSON.stringify(error), new RegExp(TEMPAUTH));
      assert.equal(server.requests.length, 1);
    });
  });

  test("a fragment that gets no answer within timeoutMs fails as ETIMEDOUT", async () => {
    await withUploads(["hang"], async (uploads, uploadUrl) => {
      const error = await uploads.putFragment(uploadUrl, 0, Buffer.alloc(5), 5, { timeoutMs: 150 }).then(() => undefined, (caught: unknown) => caught);
      assert.ok(error instanceof GraphNetworkError, String(error));
      assert.equal(error.code, "ETIMEDOUT");
    });
  });

  test("the caller's abortSignal cancels a fragment as an AbortError", async () => {
    const controller = new AbortController();
    await withUploads((_request, index) => {
      if (index === 0) controller.abort();
      return "hang";
    }, async (uploads, uploadUrl) => {
      await assert.rejects(uploads.putFragment(uploadUrl, 0, Buffer.alloc(5), 5, { abortSignal: controller.signal }), { name: "AbortError" });
    });
  });

  test("hands the caller's bytes to the transport without copying", async () => {
    let sentBody: unknown;
    const httpClient: HttpClient = {
      sendRequest: (request: PipelineRequest) => {
        sentBody = request.body;
        return Promise.resolve({ status: 202, headers: createHttpHeaders({}), request, bodyAsText: JSON.stringify({ nextExpectedRanges: ["4-"] }) });
      },
    };
    const uploads = new UploadSessionClient({ httpClient });
    const fragment = Buffer.alloc(4, 1);
    await uploads.putFragment("https://up.example/up/1?tempauth=x", 0, fragment, 10);
    assert.equal(sentBody, fragment);
  });

  test("rejects ranges that cannot be right before sending", async () => {
    const uploads = new UploadSessionClient({ httpClient: { sendRequest: () => Promise.reject(new Error("must not send")) } });
    await assert.rejects(uploads.putFragment("https://up.example/u", 0, new Uint8Array(0), 10), /at least one byte/);
    await assert.rejects(uploads.putFragment("https://up.example/u", 8, Buffer.alloc(4), 10), /run past the end/);
    await assert.rejects(uploads.putFragment("http://up.example/u?tempauth=zzz", 0, Buffer.alloc(4), 10), (error: Error) => {
      assert.match(error.message, /not https/);
      assert.doesNotMatch(error.message, /zzz/);
      return true;
    });
  });
});

describe("UploadSessionClient status and cancel", () => {
  test("getStatus reads nextExpectedRanges (either spelling) and maps 404 to notFound", async () => {
    await withUploads(
      [
        { status: 200, json: { expirationDateTime: "2026-01-01T00:15:00Z", nextExpectedRanges: ["1325399232-"] } },
        { status: 200, json: { NextExpectedRanges: ["26-99"] } },
        { status: 404, json: { error: { code: "itemNotFound", message: "The upload session was not found" } } },
      ],
      async (uploads, uploadUrl) => {
        assert.deepEqual(await uploads.getStatus(uploadUrl), { expirationDateTime: "2026-01-01T00:15:00Z", nextExpectedRanges: ["1325399232-"] });
        assert.deepEqual(await uploads.getStatus(uploadUrl), { expirationDateTime: undefined, nextExpectedRanges: ["26-99"] });
        assert.equal(await uploads.getStatus(uploadUrl), "notFound");
      },
    );
  });

  test("getStatus is retried on throttling, 5xx and dropped connections", async () => {
    await withUploads(
      [{ status: 429, headers: { "Retry-After": "3" }, text: "" }, { status: 502, text: "bad gateway" }, "drop", { status: 200, json: { nextExpectedRanges: ["0-"] } }],
      async (uploads, uploadUrl, server, delays) => {
        assert.deepEqual(await uploads.getStatus(uploadUrl), { nextExpectedRanges: ["0-"], expirationDateTime: undefined });
        assert.equal(server.requests.length, 4);
        assert.deepEqual(delays, [3000, 1000, 2000]);
      },
    );
  });

  test("cancel accepts 204 and 404, retries 500, and fails on 403", async () => {
    await withUploads(
      [{ status: 204 }, { status: 404, text: "" }, { status: 500, text: "" }, { status: 204 }, { status: 403, json: { error: { code: "accessDenied", message: "no" } } }],
      async (uploads, uploadUrl, server) => {
        await uploads.cancel(uploadUrl);
        await uploads.cancel(uploadUrl);
        await uploads.cancel(uploadUrl);
        assert.equal(server.requests.length, 4);
        await assert.rejects(uploads.cancel(uploadUrl), (error: unknown) => error instanceof GraphError && error.status === 403 && error.code === "accessDenied");
      },
    );
  });
});

describe("nextExpectedOffset", () => {
  test("reads the lowest start of open and closed ranges", () => {
    assert.equal(nextExpectedOffset(["26-"]), 26);
    assert.equal(nextExpectedOffset(["26-99"]), 26);
    assert.equal(nextExpectedOffset(["500-", "26-99"]), 26);
    assert.equal(nextExpectedOffset(["0-"]), 0);
    assert.equal(nextExpectedOffset([]), undefined);
    assert.equal(nextExpectedOffset(undefined), undefined);
    assert.throws(() => nextExpectedOffset(["abc"]), /unreadable nextExpectedRanges entry 'abc'/);
  });
});
