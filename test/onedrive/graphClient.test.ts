import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { GraphClient, type GraphClientOptions } from "../../functions/onedrive/graphClient";
import { StaticAccessTokenProvider, type AccessTokenProvider } from "../../functions/onedrive/accessToken";
import { GraphError, GraphNetworkError } from "../../functions/onedrive/graphError";
import { recordingSleep, startScriptedServer, type ScriptedAnswer, type ScriptedHandler, type ScriptedServer } from "./scriptedServer";
import { listChildren } from "./support/driveListing";

const TOKEN = "test-token-value";

async function withClient(
  script: ScriptedHandler | ScriptedAnswer[],
  run: (client: GraphClient, server: ScriptedServer, delays: number[]) => Promise<void>,
  options: Partial<GraphClientOptions> = {},
): Promise<void> {
  const server = await startScriptedServer(script);
  const { sleep, delays, now } = recordingSleep();
  try {
    const client = new GraphClient({
      baseUrl: `${server.origin}/v1.0`,
      tokenProvider: new StaticAccessTokenProvider(TOKEN),
      allowInsecureConnection: true,
      ...options,
      retry: { sleep, now, random: () => 0.5, ...options.retry },
    });
    await run(client, server, delays);
  } finally {
    await server.close();
  }
}

const item = (id: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id, name, ...extra });
const folder = (id: string, name: string): Record<string, unknown> => item(id, name, { folder: { childCount: 0 } });
const graphError = (code: string, message: string, inner?: string): unknown => ({
  error: { code, message, ...(inner ? { innerError: { code: inner } } : {}) },
});

/** What ensureFolderPath asks before it creates a folder: the root, then the folder's path, which is absent. */
const rootThenAbsent: ScriptedAnswer[] = [{ status: 200, json: folder("root", "root") }, { status: 404, json: graphError("itemNotFound", "not found") }];

describe("GraphClient requests", () => {
  test("sends the bearer token, the decorated User-Agent and a client-request-id", async () => {
    await withClient([{ status: 200, json: item("root-id", "root", { root: {}, folder: {} }) }], async (client, server) => {
      const root = await client.getRoot();
      assert.equal(root.id, "root-id");
      const [request] = server.requests;
      assert.equal(request.method, "GET");
      assert.equal(request.url, "/v1.0/me/drive/root");
      assert.equal(request.headers.authorization, `Bearer ${TOKEN}`);
      assert.match(String(request.headers["user-agent"]), /^NONISV\|onedrive-connector\|onedrive-connector\/\d+\.\d+\.\d+ demo\/1$/);
      assert.match(String(request.headers["client-request-id"]), /^[0-9a-f-]{36}$/);
    }, { userAgentSuffix: "demo/1" });
  });

  test("percent-encodes #, %, ?, spaces and unicode one segment at a time", async () => {
    await withClient([{ status: 200, json: item("f1", "x") }, { status: 404, json: graphError("itemNotFound", "missing") }], async (client, server) => {
      assert.equal((await client.getItemByPath("a#b/100%/été x?.txt"))?.id, "f1");
      assert.equal(await client.getItemByPath("missing.txt"), undefined);
      assert.equal(server.requests[0].url, "/v1.0/me/drive/root:/a%23b/100%25/%C3%A9t%C3%A9%20x%3F.txt");
      assert.equal(server.requests[1].url, "/v1.0/me/drive/root:/missing.txt");
    });
  });

  test("listChildren follows @odata.nextLink", async () => {
    await withClient((request) => {
      if (request.url === "/v1.0/me/drive/items/p!1/children") {
        return { status: 200, json: { value: [item("1", "a"), item("2", "b")], "@odata.nextLink": `${originOf(request)}/v1.0/me/drive/items/p!1/children?$skiptoken=X` } };
      }
      return { status: 200, json: { value: [item("3", "c")] } };
    }, async (client, server) => {
      const names: string[] = [];
      for await (const child of listChildren(client, "p!1")) names.push(child.name);
      assert.deepEqual(names, ["a", "b", "c"]);
      assert.equal(server.requests[1].url, "/v1.0/me/drive/items/p!1/children?$skiptoken=X");
      assert.equal(server.requests[1].headers.authorization, `Bearer ${TOKEN}`);
    });
  });

  test("never sends the token to another origin named by a nextLink", async () => {
    await withClient([{ status: 200, json: { value: [], "@odata.nextLink": "http://198.51.100.7/steal" } }], async (client, server) => {
      await assert.rejects(async () => {
        for await (const child of listChildren(client, "p")) void child;
      }, /Refusing to send the Graph access token to http:\/\/198\.51\.100\.7/);
      assert.equal(server.requests.length, 1);
    });
  });

  test("a folder is created with conflictBehavior fail; on 409 nameAlreadyExists the existing folder is used", async () => {
    await withClient(
      [...rootThenAbsent, { status: 409, json: graphError("nameAlreadyExists", "Name already exists") }, { status: 200, json: folder("existing", "My #1") }],
      async (client, server) => {
        assert.equal(await client.ensureFolderPath("My #1"), "existing");
        assert.equal(server.requests[2].method, "POST");
        assert.equal(server.requests[2].url, "/v1.0/me/drive/items/root/children");
        assert.deepEqual(JSON.parse(server.requests[2].body.toString()), { name: "My #1", folder: {}, "@microsoft.graph.conflictBehavior": "fail" });
        assert.equal(server.requests[2].headers["content-type"], "application/json");
        assert.equal(server.requests[3].method, "GET");
        assert.equal(server.requests[3].url, "/v1.0/me/drive/root:/My%20%231");
      },
    );
  });

  test("a folder whose name a file took meanwhile is refused", async () => {
    await withClient(
      [...rootThenAbsent, { status: 409, json: graphError("nameAlreadyExists", "exists") }, { status: 200, json: item("file", "x", { file: {} }) }],
      async (client) => {
        await assert.rejects(client.ensureFolderPath("x"), /a file with that name is in the way/);
      },
    );
  });

  test("ensureFolderPath creates each missing segment once, shares in-flight work and caches ids", async () => {
    let nextId = 0;
    await withClient((request) => {
      if (request.url === "/v1.0/me/drive/root") return { status: 200, json: folder("root", "root") };
      if (request.url === "/v1.0/me/drive/root:/docs") return { status: 200, json: folder("docs-id", "docs") };
      if (request.method === "GET") return { status: 404, json: graphError("itemNotFound", "not found") };
      const { name } = JSON.parse(request.body.toString()) as { name: string };
      return { status: 201, json: folder(`${name}-${++nextId}`, name) };
    }, async (client, server) => {
      const [deep, deeper, again] = await Promise.all([
        client.ensureFolderPath("docs/2026/march"),
        client.ensureFolderPath("docs/2026/march/week 1"),
        client.ensureFolderPath("/docs/2026/march/"),
      ]);
      assert.equal(deep, again);
      assert.match(deep, /^march-\d$/);
      assert.match(deeper, /^week 1-\d$/);
      const calls = server.requests.map((request) => `${request.method} ${request.url}`);
      assert.deepEqual(calls, [
        "GET /v1.0/me/drive/root",
        "GET /v1.0/me/drive/root:/docs",
        "GET /v1.0/me/drive/root:/docs/2026",
        "POST /v1.0/me/drive/items/docs-id/children",
        "POST /v1.0/me/drive/items/2026-1/children",
        "POST /v1.0/me/drive/items/march-2/children",
      ]);
      const before = server.requests.length;
      assert.equal(await client.ensureFolderPath("docs/2026/march"), deep);
      assert.equal(await client.ensureFolderPath(""), "root");
      assert.equal(server.requests.length, before, "cached ids need no requests");
    });
  });

  test("ensureFolderPath rejects a path OneDrive would refuse, before any request", async () => {
    await withClient([], async (client, server) => {
      await assert.rejects(client.ensureFolderPath("ok/CON/x"), /Cannot create OneDrive folder 'ok\/CON\/x': name 'CON' is reserved by OneDrive/);
      assert.equal(server.requests.length, 0);
    });
  });

  test("createUploadSession uses the parent-id form with every item field explicit", async () => {
    const session = { uploadUrl: "https://up.example/up/1?tempauth=t", expirationDateTime: "2026-01-01T00:15:00Z", nextExpectedRanges: ["0-"] };
    await withClient([{ status: 200, json: session }], async (client, server) => {
      const result = await client.createUploadSession("parent!7", "r#1 é.bin", { conflictBehavior: "replace", fileSize: 1234, lastModifiedDateTime: "2026-01-01T00:00:00Z" });
      assert.deepEqual(result, session);
      assert.equal(server.requests[0].url, "/v1.0/me/drive/items/parent!7:/r%231%20%C3%A9.bin:/createUploadSession");
      assert.deepEqual(JSON.parse(server.requests[0].body.toString()), {
        item: { "@microsoft.graph.conflictBehavior": "replace", name: "r#1 é.bin", fileSize: 1234, fileSystemInfo: { lastModifiedDateTime: "2026-01-01T00:00:00Z" } },
      });
    });
    await withClient([], async (client) => {
      await assert.rejects(client.createUploadSession("p", "empty.txt", { conflictBehavior: "fail", fileSize: 0, lastModifiedDateTime: "2026-01-01T00:00:00Z" }), /use uploadSmallFile/);
    });
  });

  test("a drive that refuses the time at session creation is remembered per drive; a 400 for another cause is that error", async () => {
    const session = { uploadUrl: "https://up.example/up/1?tempauth=t", expirationDateTime: "2026-01-01T00:15:00Z", nextExpectedRanges: ["0-"] };
    const malformed = { status: 400, json: graphError("invalidRequest", "The request is malformed or incorrect.") };
    const fields = { conflictBehavior: "replace" as const, fileSize: 1234, lastModifiedDateTime: "2026-01-01T00:00:00Z" };
    await withClient([malformed, { status: 200, json: session }, { status: 200, json: session }, { status: 200, json: session }], async (client, server) => {
      await client.createUploadSession("p", "a.bin", fields);
      client.useDrive({ drivePath: "/drives/b!library", locationPath: "/sites/Finance/Shared Documents" });
      await client.createUploadSession("p", "b.bin", fields);
      client.useDrive({ drivePath: "/me/drive", locationPath: "" });
      await client.createUploadSession("p", "c.bin", fields);
      const sentTime = server.requests.map((request) => [request.url.split("/items/")[0], "fileSystemInfo" in (JSON.parse(request.body.toString()) as { item: object }).item]);
      assert.deepEqual(sentTime, [
        ["/v1.0/me/drive", true], ["/v1.0/me/drive", false],
        ["/v1.0/drives/b!library", true],
        ["/v1.0/me/drive", false],
      ]);
    });
    await withClient([malformed, { status: 400, json: graphError("invalidRequest", "Bad Argument") }, { status: 200, json: session }], async (client, server) => {
      await assert.rejects(client.createUploadSession("p", "a.bin", fields), (error: unknown) => error instanceof GraphError && /malformed or incorrect/.test(error.message));
      await client.createUploadSession("p", "b.bin", fields);
      assert.ok("fileSystemInfo" in (JSON.parse(server.requests[2].body.toString()) as { item: object }).item, "not taken for a drive that refuses the time");
    });
  });

  test("uploadSmallFile PUTs the bytes with conflictBehavior in the query; 0 bytes allowed", async () => {
    await withClient([{ status: 201, json: item("new", "a.txt", { size: 3 }) }, { status: 201, json: item("empty", "e.txt", { size: 0 }) }], async (client, server) => {
      await client.uploadSmallFile("p", "a b.txt", Buffer.from("abc"), { conflictBehavior: "fail" });
      await client.uploadSmallFile("p", "e.txt", new Uint8Array(0), { conflictBehavior: "replace" });
      assert.equal(server.requests[0].method, "PUT");
      assert.equal(server.requests[0].url, "/v1.0/me/drive/items/p:/a%20b.txt:/content?@microsoft.graph.conflictBehavior=fail");
      assert.equal(server.requests[0].body.toString(), "abc");
      assert.equal(server.requests[0].headers["content-type"], "application/octet-stream");
      assert.equal(server.requests[1].headers["content-length"], "0");
    });
  });

  test("setLastModified patches fileSystemInfo", async () => {
    await withClient([{ status: 200, json: item("i", "x") }], async (client, server) => {
      await client.setLastModified("i", "2025-05-05T05:05:05Z");
      assert.equal(server.requests[0].method, "PATCH");
      assert.equal(server.requests[0].url, "/v1.0/me/drive/items/i");
      assert.deepEqual(JSON.parse(server.requests[0].body.toString()), { fileSystemInfo: { lastModifiedDateTime: "2025-05-05T05:05:05Z" } });
    });
  });

  test("refuses an http:// baseUrl unless allowInsecureConnection is set", () => {
    assert.throws(() => new GraphClient({ baseUrl: "http://localhost:1/v1.0", tokenProvider: new StaticAccessTokenProvider("t") }), /must be https/);
  });
});

describe("GraphClient retries", () => {
  test("429 with Retry-After 2 waits 2 s (injected sleep) and retries with the same client-request-id", async () => {
    await withClient(
      [{ status: 429, headers: { "Retry-After": "2" }, json: graphError("activityLimitReached", "throttled") }, { status: 200, json: item("i", "x") }],
      async (client, server, delays) => {
        assert.equal((await client.getItem("i")).id, "i");
        assert.deepEqual(delays, [2000]);
        assert.equal(server.requests.length, 2);
        assert.equal(server.requests[0].headers["client-request-id"], server.requests[1].headers["client-request-id"]);
      },
    );
  });

  test("Retry-After as an HTTP date is honoured against the injected clock", async () => {
    const now = Date.parse("2026-03-01T10:00:00Z");
    await withClient(
      [{ status: 503, headers: { "Retry-After": "Sun, 01 Mar 2026 10:01:30 GMT" }, text: "" }, { status: 200, json: item("i", "x") }],
      async (client, _server, delays) => {
        await client.getItem("i");
        assert.deepEqual(delays, [90_000]);
      },
      { retry: { now: () => now } },
    );
  });

  test("500 then success is retried after a backoff", async () => {
    await withClient([{ status: 500, json: graphError("generalException", "oops") }, { status: 200, json: item("i", "x") }], async (client, server, delays) => {
      await client.getItem("i");
      assert.equal(server.requests.length, 2);
      assert.deepEqual(delays, [500]);
    });
  });

  test("a dropped connection is retried and a POST body is replayed intact", async () => {
    await withClient([...rootThenAbsent, "drop", { status: 201, json: folder("f", "new") }], async (client, server) => {
      assert.equal(await client.ensureFolderPath("new"), "f");
      assert.equal(server.requests.length, 4);
      assert.equal(server.requests[2].method, "POST");
      assert.deepEqual(server.requests[2].body, server.requests[3].body);
      assert.deepEqual(JSON.parse(server.requests[3].body.toString()).name, "new");
    });
  });

  test("400 is not retried and surfaces as a GraphError with status, codes and request id", async () => {
    await withClient(
      [{ status: 400, headers: { "request-id": "rid-9" }, json: { error: { code: "invalidRequest", message: "Invalid path", innererror: { code: "invalidPath" } } } }],
      async (client, server, delays) => {
        const error = await client.getItem("bad").then(() => undefined, (caught: unknown) => caught);
        assert.ok(error instanceof GraphError);
        assert.equal(error.status, 400);
        assert.equal(error.code, "invalidRequest");
        assert.deepEqual(error.innerCodes, ["invalidPath"]);
        assert.equal(error.requestId, "rid-9");
        assert.equal(error.clientRequestId, server.requests[0].headers["client-request-id"]);
        assert.equal(error.url, `${server.origin}/v1.0/me/drive/items/bad`);
        assert.doesNotMatch(error.message, new RegExp(TOKEN));
        assert.equal(server.requests.length, 1);
        assert.deepEqual(delays, []);
      },
    );
  });

  test("gives up after maxRetries and throws the last error with Retry-After", async () => {
    const throttled: ScriptedAnswer = { status: 429, headers: { "Retry-After": "1" }, json: graphError("activityLimitReached", "throttled", "throttledRequest") };
    await withClient([throttled, throttled, throttled], async (client, server, delays) => {
      const error = await client.getRoot().then(() => undefined, (caught: unknown) => caught);
      assert.ok(error instanceof GraphError);
      assert.equal(error.status, 429);
      assert.equal(error.retryAfterMs, 1000);
      assert.equal(server.requests.length, 3);
      assert.deepEqual(delays, [1000, 1000]);
    }, { maxRetries: 2 });
  });

  test("network failures that outlast the retries become a GraphNetworkError without secrets", async () => {
    await withClient(["drop", "drop"], async (client) => {
      const error = await client.getItem("i").then(() => undefined, (caught: unknown) => caught);
      assert.ok(error instanceof GraphNetworkError, String(error));
      assert.equal(error.code, "ECONNRESET");
      assert.doesNotMatch(error.message, new RegExp(TOKEN));
    }, { maxRetries: 1 });
  });

  test("asks the token provider again on every attempt", async () => {
    let issued = 0;
    const provider: AccessTokenProvider = { getAccessToken: () => Promise.resolve(`token-${++issued}`) };
    await withClient([{ status: 503, text: "" }, { status: 200, json: item("i", "x") }], async (client, server) => {
      await client.getItem("i");
      assert.deepEqual(server.requests.map((request) => request.headers.authorization), ["Bearer token-1", "Bearer token-2"]);
    }, { tokenProvider: provider });
  });

  test("a request that gets no answer in time is retried as a timeout", async () => {
    await withClient(["hang", { status: 200, json: item("i", "x") }], async (client, server) => {
      await client.getItem("i");
      assert.equal(server.requests.length, 2);
    }, { requestTimeoutMs: 200 });
  });
});

function originOf(request: { headers: Record<string, unknown> }): string {
  return `http://${String(request.headers.host)}`;
}

test("a token provider's own error (a relink needed) reaches the caller unchanged, not as a network failure", async () => {
  const relink = Object.assign(new Error("OneDrive link needs renewing: open /api/auth/login"), { name: "RelinkRequiredError", code: "RelinkRequired" });
  let requestsSent = 0;
  const client = new GraphClient({
    baseUrl: "https://graph.example.invalid/v1.0",
    tokenProvider: { getAccessToken: () => Promise.reject(relink) },
    httpClient: { sendRequest: () => { requestsSent += 1; return Promise.reject(new Error("must not send")); } },
  });
  await assert.rejects(client.getRoot(), (error: unknown) => {
    assert.equal(error, relink);
    return true;
  });
  assert.equal(requestsSent, 0);
});
