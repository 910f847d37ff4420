import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHttpHeaders } from "@azure/core-rest-pipeline";
import { checkOneDrivePath, encodePath } from "../../functions/onedrive/pathRules";
import { GraphError, redactUploadUrl, urlWithoutQuery } from "../../functions/onedrive/graphError";

describe("checkOneDrivePath", () => {
  test("accepts ordinary paths, including # % and unicode", () => {
    for (const path of ["a.txt", "reports/2026/q1 summary.pdf", "a#b/100%/été.txt", "日本/ファイル.bin", "con.txt", "a.b.c"]) {
      assert.equal(checkOneDrivePath(path), undefined, path);
    }
  });

  test("each forbidden character, in a folder segment too", () => {
    for (const character of ['"', "*", ":", "<", ">", "?", "\\", "|"]) {
      assert.equal(checkOneDrivePath(`dir${character}x/file.txt`), `name 'dir${character}x' contains '${character}' which OneDrive does not allow`);
    }
  });

  test("reserved names in any case and any segment", () => {
    for (const name of ["CON", "prn", "Aux", "NUL", "COM0", "com9", "LPT0", "lpt5", ".lock", "desktop.ini", "Desktop.INI"]) {
      assert.equal(checkOneDrivePath(`ok/${name}/file.txt`), `name '${name}' is reserved by OneDrive`, name);
      assert.equal(checkOneDrivePath(name), `name '${name}' is reserved by OneDrive`, name);
    }
  });

  test("~$ prefix, _vti_, spaces, trailing dot and empty segments", () => {
    assert.match(checkOneDrivePath("docs/~$report.docx") ?? "", /starts with '~\$'/);
    assert.match(checkOneDrivePath("a/my_vti_folder/b.txt") ?? "", /contains '_vti_'/);
    assert.match(checkOneDrivePath(" a/b.txt") ?? "", /starts with a space/);
    assert.match(checkOneDrivePath("a/b.txt ") ?? "", /ends with a space/);
    assert.match(checkOneDrivePath("folder./b.txt") ?? "", /ends with '\.'/);
    assert.match(checkOneDrivePath("a//b.txt") ?? "", /empty segment/);
    assert.match(checkOneDrivePath("/a.txt") ?? "", /empty segment/);
    assert.match(checkOneDrivePath("a/") ?? "", /empty segment/);
    assert.equal(checkOneDrivePath(""), "the path is empty");
  });

  test("the whole path must be under 400 characters", () => {
    const path399 = `${"d".repeat(200)}/${"f".repeat(198)}`;
    assert.equal(path399.length, 399);
    assert.equal(checkOneDrivePath(path399), undefined);
    const path412 = `${"d".repeat(200)}/${"f".repeat(211)}`;
    assert.equal(checkOneDrivePath(path412), "the path is 412 characters; OneDrive allows under 400");
    assert.equal(checkOneDrivePath("x".repeat(400)), "the path is 400 characters; OneDrive allows under 400");
  });
});

describe("encodePath", () => {
  test("encodes each segment on its own", () => {
    assert.equal(encodePath("a b/c#d/100%/why?.txt"), "a%20b/c%23d/100%25/why%3F.txt");
    assert.equal(encodePath("été/日本.txt"), "%C3%A9t%C3%A9/%E6%97%A5%E6%9C%AC.txt");
    assert.equal(encodePath("plain"), "plain");
  });
});

describe("GraphError", () => {
  const headers = createHttpHeaders({ "request-id": "req-123", "client-request-id": "client-456", "Retry-After": "5" });

  test("reads code, nested inner codes in both spellings, request ids, and writes an actionable message", () => {
    const body = {
      error: {
        code: "activityLimitReached",
        message: "The request has been throttled",
        innerError: { code: "throttledRequest", innererror: { code: "quota" } },
      },
    };
    const error = new GraphError({
      method: "PUT",
      url: "https://graph.example/v1.0/me/drive/items/abc:/a.txt:/content?@microsoft.graph.conflictBehavior=fail",
      status: 429,
      headers,
      bodyText: JSON.stringify(body),
      retryAfterMs: 5000,
    });
    assert.equal(error.status, 429);
    assert.equal(error.code, "activityLimitReached");
    assert.deepEqual(error.innerCodes, ["throttledRequest", "quota"]);
    assert.equal(error.requestId, "req-123");
    assert.equal(error.clientRequestId, "client-456");
    assert.equal(error.retryAfterMs, 5000);
    assert.equal(error.url, "https://graph.example/v1.0/me/drive/items/abc:/a.txt:/content");
    assert.equal(error.method, "PUT");
    assert.ok(error.hasCode("quota"));
    assert.ok(!error.hasCode("nameAlreadyExists"));
    assert.match(
      error.message,
      /^Graph PUT \/v1\.0\/me\/drive\/items\/abc:\/a\.txt:\/content failed: 429 activityLimitReached\/throttledRequest\/quota \(request-id req-123\): The request has been throttled/,
    );
  });

  test("request id falls back to the body's innerError", () => {
    const error = new GraphError({
      method: "POST",
      url: "https://graph.example/v1.0/me/drive/items/p/children",
      status: 409,
      bodyText: JSON.stringify({ error: { code: "nameAlreadyExists", message: "exists", innerError: { "request-id": "body-req", date: "x" } } }),
    });
    assert.equal(error.requestId, "body-req");
    assert.deepEqual(error.innerCodes, []);
    assert.match(error.message, /409 nameAlreadyExists \(request-id body-req\): exists — an item with this name exists/);
  });

  test("upload URL credentials and tokens never reach the message", () => {
    const uploadUrl = "https://up.example/up/abcdef0123456789abcdef0123456789?tempauth=SECRET-TEMPAUTH&guid=1";
    const error = new GraphError({
      service: "Upload session",
      method: "PUT",
      url: redactUploadUrl(uploadUrl),
      status: 401,
      bodyText: JSON.stringify({ error: { code: "unauthenticated", message: `bad tempauth=SECRET-TEMPAUTH at ${uploadUrl}; Bearer abc.def.ghi` } }),
    });
    assert.doesNotMatch(error.message, /SECRET-TEMPAUTH|abc\.def\.ghi|abcdef0123456789abcdef0123456789/);
    assert.doesNotMatch(error.url, /\?/);
    assert.match(error.message, /^Upload session PUT \/up\/abcdef01\.\.\. failed: 401 unauthenticated/);
  });

  test("a non-JSON gateway page still gives a readable error", () => {
    const error = new GraphError({ method: "GET", url: "https://graph.example/v1.0/me/drive/root", status: 502, bodyText: "<html><body>Bad Gateway</body></html>" });
    assert.equal(error.code, "");
    assert.match(error.message, /failed: 502: Bad Gateway$/);
  });

  test("urlWithoutQuery drops query and fragment", () => {
    assert.equal(urlWithoutQuery("https://h.example/a/b?x=1#y"), "https://h.example/a/b");
  });
});
