import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { blobNameOf, MalformedMessageError, parseQueueMessage } from "../../functions/app/queueMessages";
import { blobCreatedEvent, hostEntry } from "./support/appHarness";

const ACCOUNT = "https://account.blob.core.windows.net";

describe("queue message parsing", () => {
  test("a transfer request as the host hands it over: parsed object, raw text and bytes", () => {
    const text = JSON.stringify({ kind: "transfer", blob: "a/b.txt", etag: "0x1", runId: "r1" });
    const expected = { kind: "transfer", blob: "a/b.txt", etag: "0x1", runId: "r1" };
    assert.deepEqual(parseQueueMessage(hostEntry(text)), expected);
    assert.deepEqual(parseQueueMessage(text), expected);
    assert.deepEqual(parseQueueMessage(Buffer.from(text)), expected);
  });

  test("base64-encoded JSON is decoded (Event Grid has delivered both encodings)", () => {
    const event = blobCreatedEvent(ACCOUNT, "outbox", "reports/q3.pdf");
    const encoded = Buffer.from(JSON.stringify(event)).toString("base64");
    assert.deepEqual(parseQueueMessage(hostEntry(encoded)), { kind: "blobCreated", container: "outbox", blob: "reports/q3.pdf", etag: "0x8DCAFE", eventId: event.id });
  });

  test("a sweep request, a continuation", () => {
    assert.deepEqual(parseQueueMessage({ kind: "sweep", runId: "r2" }), { kind: "sweep", runId: "r2" });
    assert.deepEqual(parseQueueMessage({ kind: "transfer", blob: "x", continuation: true }), { kind: "transfer", blob: "x", continuation: true });
  });

  test("names with spaces, #, %, ? and unicode come out of an encoded URL exactly", () => {
    for (const name of ["a b.txt", "dir/#1 report.txt", "100% done?.txt", "ünïcødé/日本語 ✓.txt", "a%20b.txt", "plus+sign.txt"]) {
      const parsed = parseQueueMessage(blobCreatedEvent(ACCOUNT, "outbox", name));
      assert.equal(parsed.kind === "blobCreated" && parsed.blob, name, name);
    }
  });

  test("the subject decides when the URL is missing, not encoded, or disagrees", () => {
    assert.equal(blobNameOf("a b.txt", "outbox", undefined), "a b.txt");
    assert.equal(blobNameOf("dir/#1.txt", "outbox", `${ACCOUNT}/outbox/dir/#1.txt`), "dir/#1.txt", "a raw # would be a URL fragment");
    assert.equal(blobNameOf("100%.txt", "outbox", `${ACCOUNT}/outbox/100%.txt`), "100%.txt", "a raw % does not decode");
    assert.equal(blobNameOf("x.txt", "outbox", `${ACCOUNT}/outbox/y.txt`), "x.txt");
    assert.equal(blobNameOf("a%20b.txt", "outbox", `${ACCOUNT}/outbox/a%20b.txt`), "a b.txt", "an encoded subject agreeing with the URL");
    assert.equal(blobNameOf("a.txt", "outbox", "http://127.0.0.1:10000/devstoreaccount1/outbox/a.txt"), "a.txt", "emulator-style URL");
  });

  test("CloudEvents-schema events are read too; other event types are recognised and set aside", () => {
    const cloud = { specversion: "1.0", type: "Microsoft.Storage.BlobCreated", subject: "/blobServices/default/containers/outbox/blobs/c.txt", id: "e1", data: { url: `${ACCOUNT}/outbox/c.txt`, eTag: "0x2" } };
    assert.deepEqual(parseQueueMessage(cloud), { kind: "blobCreated", container: "outbox", blob: "c.txt", etag: "0x2", eventId: "e1" });
    const deleted = { ...blobCreatedEvent(ACCOUNT, "outbox", "d.txt"), eventType: "Microsoft.Storage.BlobDeleted" };
    assert.deepEqual(parseQueueMessage(deleted), { kind: "otherEvent", eventType: "Microsoft.Storage.BlobDeleted", subject: "/blobServices/default/containers/outbox/blobs/d.txt" });
  });

  test("malformed messages say what is wrong", () => {
    const cases: Array<[unknown, RegExp]> = [
      ["", /empty/],
      ["not json at all!", /neither JSON nor base64/],
      [Buffer.from("bm90IGpzb24=").toString(), /base64 but what it encodes is not JSON/],
      [[1, 2], /JSON array/],
      [42, /a number/],
      [null, /null/],
      [{ blob: "x" }, /neither "kind" nor "eventType"/],
      [{ kind: "delete", blob: "x" }, /unknown message kind "delete"/],
      [{ kind: "transfer" }, /"blob" must be a non-empty string/],
      [{ kind: "transfer", blob: "" }, /"blob" must be a non-empty string/],
      [{ kind: "transfer", blob: "x".repeat(1025) }, /1025 characters/],
      [{ kind: "transfer", blob: "x", etag: 5 }, /"etag" must be a string/],
      [{ kind: "transfer", blob: "x", continuation: "yes" }, /"continuation" must be true/],
      [{ kind: "sweep" }, /"runId"/],
      [{ eventType: "Microsoft.Storage.BlobCreated", subject: "/containers/x" }, /is not \/blobServices/],
    ];
    for (const [entry, pattern] of cases) {
      assert.throws(() => parseQueueMessage(entry), (error: unknown) => error instanceof MalformedMessageError && pattern.test(error.message), JSON.stringify(entry));
    }
  });
});
