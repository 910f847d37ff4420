import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { quickXorHashBase64 } from "../emulators/onedrive";
import type { OneDriveEmulatorOptions } from "../emulators/onedrive";
import { BATCHED_FILE_MAX_BYTES } from "../../functions/transfer/smallFileBatch";
import { RetryTally, withCallContext } from "../../functions/http/callContext";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture, randomContent, type TransferFixture } from "../support/transferHarness";

/**
 * Small files travel in Graph JSON batches: a simple PUT with the conflict behaviour, then a PATCH of the blob's
 * time, both inside `POST /$batch`. Checked against the emulator, which answers batches as the service documents
 * (answers out of order, content-upload answers as base64, per-request throttling).
 */
describe("small files in JSON batches", () => {
  const suite = azuriteForSuite();
  const fixtureWith = async (env: Record<string, string> = {}, emulatorOptions: OneDriveEmulatorOptions = {}): Promise<TransferFixture> =>
    suite.closeAfter(await createTransferFixture(suite.instance, env, emulatorOptions));

  const blobTimes = async (fixture: TransferFixture): Promise<Map<string, Date>> => {
    const times = new Map<string, Date>();
    for await (const blob of fixture.container.listBlobsFlat()) times.set(blob.name, blob.properties.lastModified);
    return times;
  };

  test("a sweep of 45 small files sends them in batches of at most 20 requests, each file with its bytes and its blob's time", async () => {
    const fixture = await fixtureWith({ DEST_FOLDER: "inbox" });
    const contents = new Map<string, Buffer>();
    for (let index = 0; index < 45; index++) {
      const name = index % 3 === 0 ? `deep/file-${index}.bin` : `file-${index}.bin`;
      contents.set(name, randomContent(1 + ((index * 977) % 4096)));
    }
    contents.set("largest-batched.bin", randomContent(BATCHED_FILE_MAX_BYTES));
    for (const [name, content] of contents) await fixture.putBlob(name, content);
    const times = await blobTimes(fixture);

    const summary = await fixture.engine().sweep();
    assert.equal(summary.failed, 0, JSON.stringify(summary.files.filter((file) => file.status === "failed")));
    assert.equal(summary.uploaded, contents.size);

    for (const [name, content] of contents) {
      const item = fixture.emulator.getItem(`inbox/${name}`);
      assert.ok(item, `inbox/${name} exists`);
      assert.equal(item.quickXorHash, quickXorHashBase64(content), `${name} holds the blob's bytes`);
      assert.equal(Date.parse(item.lastModifiedDateTime), times.get(name)!.getTime(), `${name} keeps the blob's time`);
    }
    const requests = fixture.emulator.requests;
    assert.equal(requests.filter((request) => request.url.includes("createUploadSession")).length, 0, "no upload session for a small file");
    assert.equal(requests.filter((request) => request.origin === "upload").length, 0);
    const batchParts = requests.filter((request) => request.batchId !== undefined);
    const contentPuts = batchParts.filter((request) => request.method === "PUT" && request.url.includes(":/content"));
    const timePatches = batchParts.filter((request) => request.method === "PATCH");
    assert.equal(contentPuts.length, contents.size, "every file's bytes went in a batch");
    assert.equal(timePatches.length, contents.size, "every file's time went in a batch");
    assert.ok(contentPuts.every((request) => request.url.includes("@microsoft.graph.conflictBehavior=replace")));
    const partsPerBatch = new Map<string, number>();
    for (const part of batchParts) partsPerBatch.set(part.batchId!, (partsPerBatch.get(part.batchId!) ?? 0) + 1);
    assert.ok(Math.max(...partsPerBatch.values()) <= 20, "a batch holds at most 20 requests");
    assert.ok(partsPerBatch.size < contents.size, `fewer batches (${partsPerBatch.size}) than files (${contents.size})`);
    const direct = requests.filter((request) => request.origin === "graph" && request.batchId === undefined);
    assert.equal(direct.filter((request) => request.method === "PUT").length, 0, "no content PUT outside a batch");

    const rows = await fixture.engine().services.ledger.readAll();
    assert.ok([...contents.keys()].every((name) => rows.get(name)?.status === "done" && rows.get(name)?.quickXorHash === quickXorHashBase64(contents.get(name)!)));
  });

  test("a file just over the batched size takes an upload session", async () => {
    const fixture = await fixtureWith();
    await fixture.putBlob("over.bin", randomContent(BATCHED_FILE_MAX_BYTES + 1));
    const summary = await fixture.engine().sweep();
    assert.equal(summary.uploaded, 1);
    assert.equal(fixture.emulator.requests.filter((request) => request.url.includes("createUploadSession")).length, 1);
    assert.equal(fixture.emulator.requests.filter((request) => request.batchId !== undefined).length, 0);
  });

  test("under rename and fail small files keep upload sessions (a resent batch would repeat their uploads), with the same results", async () => {
    const renaming = await fixtureWith({ CONFLICT_BEHAVIOR: "rename" });
    renaming.emulator.putFile("notes.txt", "already in OneDrive");
    await renaming.putBlob("notes.txt", "from the blob");
    assert.equal((await renaming.engine().sweep()).uploaded, 1);
    assert.deepEqual(renaming.emulator.listTree().filter((path) => path.startsWith("notes")).sort(), ["notes 1.txt", "notes.txt"]);
    assert.equal(renaming.emulator.getItem("notes.txt")?.content?.toString(), "already in OneDrive");
    assert.equal(renaming.emulator.getItem("notes 1.txt")?.content?.toString(), "from the blob");
    assert.equal(renaming.emulator.requests.filter((request) => request.url.endsWith("/$batch")).length, 0);
    assert.equal(renaming.emulator.requests.filter((request) => request.url.includes("createUploadSession")).length, 1);

    const failing = await fixtureWith({ CONFLICT_BEHAVIOR: "fail" });
    failing.emulator.putFile("taken.txt", "already in OneDrive");
    await failing.putBlob("taken.txt", "from the blob");
    await failing.putBlob("free.txt", "from the blob too");
    const summary = await failing.engine().sweep();
    const byBlob = new Map(summary.files.map((file) => [file.blob, file]));
    assert.equal(byBlob.get("free.txt")?.status, "uploaded");
    assert.equal(byBlob.get("taken.txt")?.status, "failed");
    assert.match(byBlob.get("taken.txt")?.error ?? "", /409 nameAlreadyExists/);
    assert.equal(failing.emulator.getItem("taken.txt")?.content?.toString(), "already in OneDrive");
    assert.equal(failing.emulator.requests.filter((request) => request.url.endsWith("/$batch")).length, 0);
  });

  test("a request that fails inside a batch fails its own file with its own status, code and request id", async () => {
    const fixture = await fixtureWith({}, { simpleUploadLimitBytes: 1000 });
    await fixture.putBlob("small.txt", "fits");
    await fixture.putBlob("large.bin", randomContent(5000));
    const summary = await fixture.engine().sweep();
    const byBlob = new Map(summary.files.map((file) => [file.blob, file]));
    assert.equal(byBlob.get("small.txt")?.status, "uploaded");
    assert.equal(byBlob.get("large.bin")?.status, "failed");
    assert.match(byBlob.get("large.bin")?.error ?? "", /Graph PUT \S+large\.bin:\/content failed: 413 invalidRequest\/maxFileSizeExceeded \(request-id [0-9a-f-]+\)/);
    assert.equal((await fixture.engine().services.ledger.readAll()).get("large.bin")?.status, "failed");
    assert.ok(fixture.emulator.requests.some((request) => request.status === 413 && request.batchId !== undefined));
  });

  test("a throttled request inside a batch waits the Retry-After it was given and rides in a later batch", async () => {
    // Graph sees: GET the drive (DEST_DRIVE), GET root, the first batch (it leaves at once with the first file), its
    // part, the second batch, its first part: that one is throttled.
    const fixture = await fixtureWith({}, { faults: [{ kind: "throttle", target: "graph", status: 429, retryAfter: "7", skip: 5 }] });
    for (let index = 0; index < 6; index++) await fixture.putBlob(`t${index}.txt`, `throttled batch ${index}`);
    const summary = await fixture.engine().sweep();
    assert.equal(summary.uploaded, 6, JSON.stringify(summary.files));
    // The wait runs to the end of the 7 s window the answer opened, measured on the real clock from that answer.
    assert.ok(fixture.sleeps.some((ms) => ms > 6_000 && ms <= 7_000), `the engine slept the 7 s asked (slept ${JSON.stringify(fixture.sleeps)})`);
    const throttled = fixture.emulator.requests.filter((request) => request.status === 429);
    assert.equal(throttled.length, 1);
    assert.ok(throttled[0].batchId !== undefined, "the throttle hit a request inside a batch");
    assert.equal(fixture.emulator.listTree().filter((path) => path.startsWith("t")).length, 6);
  });

  test("a batch sent again counts one retry, for a file in it: not for the file whose answer set it off", async () => {
    const fixture = await fixtureWith({}, { simpleUploadLimitBytes: 1000 });
    const { graph, smallFiles } = fixture.engine().services;
    const root = await graph.getRoot();
    // Graph sees: the first batch (the first file alone, since the endpoint has not batched yet) and its part, then
    // the second batch, carrying the other two files: its POST answers 503 once and the whole batch goes again.
    fixture.emulator.addFaults([{ kind: "throttle", target: "graph", status: 503, skip: 2 }]);
    const tallies = { refused: new RetryTally(), second: new RetryTally(), third: new RetryTally() };
    const upload = (file: keyof typeof tallies, size: number) =>
      withCallContext({ tally: tallies[file] }, () =>
        smallFiles!.upload({ parentId: root.id, name: `${file}.bin`, content: randomContent(size), conflictBehavior: "replace", lastModifiedDateTime: "2026-12-01T10:00:00Z" }),
      );
    const results = await Promise.allSettled([upload("refused", 5000), upload("second", 10), upload("third", 10)]);
    assert.deepEqual(results.map((result) => result.status), ["rejected", "fulfilled", "fulfilled"]);
    const batchPosts = fixture.emulator.requests.filter((request) => request.url === "/v1.0/$batch");
    assert.deepEqual(batchPosts.slice(0, 3).map((request) => request.status), [200, 503, 200], "the second batch went twice");
    assert.deepEqual(
      Object.fromEntries(Object.entries(tallies).map(([file, tally]) => [file, tally.retries])),
      { refused: 0, second: 1, third: 0 },
      "one retry, for the batch's first file; none for the file refused in the batch before",
    );
  });

  test("a request sent again alone, in a later batch, counts a retry for its own file", async () => {
    const fixture = await fixtureWith();
    const { graph, smallFiles } = fixture.engine().services;
    const root = await graph.getRoot();
    // The first batch and its part, the second batch (two content PUTs and the first file's PATCH), its first part.
    fixture.emulator.addFaults([{ kind: "throttle", target: "graph", status: 429, retryAfter: "1", skip: 3 }]);
    const tallies = [new RetryTally(), new RetryTally(), new RetryTally()];
    const uploads = tallies.map((tally, index) =>
      withCallContext({ tally }, () =>
        smallFiles!.upload({ parentId: root.id, name: `alone-${index}.txt`, content: Buffer.from(`file ${index}`), conflictBehavior: "replace", lastModifiedDateTime: "2026-12-01T10:00:00Z" }),
      ),
    );
    await Promise.all(uploads);
    const throttled = fixture.emulator.requests.filter((request) => request.status === 429);
    assert.equal(throttled.length, 1);
    assert.ok(throttled[0]!.batchId !== undefined, "the throttle hit a request inside a batch");
    const throttledName = /alone-(\d)\.txt/.exec(throttled[0]!.url)?.[1];
    assert.ok(throttledName !== undefined, `a content PUT was throttled: ${throttled[0]!.url}`);
    assert.deepEqual(tallies.map((tally) => tally.retries), tallies.map((_tally, index) => (String(index) === throttledName ? 1 : 0)));
  });

  test("a file that stops waiting leaves the batch; the batch goes on for the other files", async () => {
    const fixture = await fixtureWith();
    const { graph, smallFiles } = fixture.engine().services;
    const root = await graph.getRoot();
    const upload = (name: string, signal: AbortSignal, onQueued?: () => void) =>
      withCallContext({ signal }, () =>
        smallFiles!.upload({ parentId: root.id, name, content: Buffer.from(name), conflictBehavior: "replace", lastModifiedDateTime: "2026-12-01T10:00:00Z", onQueued }),
      );
    // The first file alone teaches the batcher that the endpoint batches; from then on files linger for company.
    await upload("first.txt", new AbortController().signal);
    const abandoned = new AbortController();
    // The abandoned file queues first, so the batch would leave from its call chain (its lingering timer); it stops
    // waiting once the kept file has joined it.
    const [abandonedResult, keptResult] = await Promise.allSettled([
      upload("abandoned.txt", abandoned.signal),
      upload("kept.txt", new AbortController().signal, () => abandoned.abort(new Error("claim lost"))),
    ]);
    assert.equal(abandonedResult.status, "rejected");
    assert.equal((abandonedResult as PromiseRejectedResult).reason.message, "claim lost");
    assert.equal(keptResult.status, "fulfilled", keptResult.status === "rejected" ? String(keptResult.reason) : "");
    assert.ok(fixture.emulator.getItem("kept.txt"), "the other file's upload went on");
    assert.equal(fixture.emulator.getItem("abandoned.txt"), undefined, "a request still queued leaves the batch");
    const batchParts = fixture.emulator.requests.filter((request) => request.batchId !== undefined).map((request) => request.url);
    assert.ok(!batchParts.some((url) => url.includes("abandoned.txt")), "the abandoned file's request never reached OneDrive");
  });

  test("a Graph endpoint without JSON batching gets one $batch attempt, then every file takes an upload session", async () => {
    const fixture = await fixtureWith({}, { jsonBatching: false });
    for (let index = 0; index < 5; index++) await fixture.putBlob(`plain-${index}.txt`, `no batching here ${index}`);
    const times = await blobTimes(fixture);
    const summary = await fixture.engine().sweep();
    assert.equal(summary.uploaded, 5, JSON.stringify(summary.files));
    const requests = fixture.emulator.requests;
    assert.equal(requests.filter((request) => request.url.endsWith("/$batch")).length, 1, "asked once, then never again");
    assert.equal(requests.filter((request) => request.url.includes("createUploadSession")).length, 5);
    for (const [name, time] of times) assert.equal(Date.parse(fixture.emulator.getItem(name)!.lastModifiedDateTime), time.getTime());
  });

  test("many files at once against an endpoint without batching (more than the batch queue holds) all fall back to sessions", async () => {
    // The refusal is slow to come (GET the drive and GET root first, then the batch, answered 300 ms late), so files
    // pile up behind it.
    const fixture = await fixtureWith({}, { jsonBatching: false, faults: [{ kind: "slowResponse", target: "graph", skip: 2, delayMs: 300 }] });
    const names = Array.from({ length: 50 }, (_, index) => `many-${index}.txt`);
    for (const name of names) await fixture.putBlob(name, `queued while the first batch was refused: ${name}`);
    const engine = fixture.engine();
    const outcomes = await Promise.all(names.map((name) => engine.transferBlob(name)));
    assert.deepEqual(outcomes.filter((outcome) => outcome.status !== "uploaded"), []);
    assert.equal(fixture.emulator.requests.filter((request) => request.url.endsWith("/$batch")).length, 1);
    assert.equal(fixture.emulator.requests.filter((request) => request.url.includes("createUploadSession")).length, 50);
  });

  test("an endpoint that batches but refuses file content in a batch gets one try, then every file takes an upload session", async () => {
    const fixture = await fixtureWith({}, { jsonBatching: "jsonBodiesOnly" });
    for (let index = 0; index < 5; index++) await fixture.putBlob(`json-only-${index}.txt`, `content refused in batches ${index}`);
    const summary = await fixture.engine().sweep();
    assert.equal(summary.uploaded, 5, JSON.stringify(summary.files));
    const requests = fixture.emulator.requests;
    assert.equal(requests.filter((request) => request.url.endsWith("/$batch")).length, 1);
    assert.equal(requests.filter((request) => request.url.includes("createUploadSession")).length, 5);
    assert.equal(fixture.emulator.listTree().filter((path) => path.startsWith("json-only")).length, 5);
  });

  test("a file stored by a batch whose worker died before its time was set gets its time, and is not uploaded again", async () => {
    const fixture = await fixtureWith();
    await fixture.putBlob("halfway.txt", "stored, time not yet set");
    const [time] = (await blobTimes(fixture)).values();
    // What the crash leaves: OneDrive holds the bytes with the upload's own time, the ledger row is still claimed.
    fixture.emulator.putFile("halfway.txt", "stored, time not yet set", { lastModifiedDateTime: "2020-01-01T00:00:00Z" });
    const ledger = fixture.engine().services.ledger;
    const lapsed = new Date(Date.now() - 1_000).toISOString();
    await ledger.merge("halfway.txt", { status: "pending", blobEtag: "", claimOwner: "crashed-worker", claimExpiresAt: lapsed });

    const summary = await fixture.engine().sweep();
    assert.equal(summary.uploaded, 1);
    assert.equal(Date.parse(fixture.emulator.getItem("halfway.txt")!.lastModifiedDateTime), time.getTime(), "the blob's time was set");
    assert.equal(fixture.emulator.requests.filter((request) => request.method === "PUT").length, 0, "nothing uploaded again");
  });

  test("a file whose interrupted attempt left another copy in OneDrive is read from the blob once: checked, then batched", async () => {
    const fixture = await fixtureWith();
    await fixture.putBlob("retried.txt", "the blob's bytes");
    fixture.emulator.putFile("retried.txt", "someone else's bytes");
    const ledger = fixture.engine().services.ledger;
    await ledger.merge("retried.txt", { status: "pending", blobEtag: "", claimOwner: "crashed-worker", claimExpiresAt: new Date(Date.now() - 1_000).toISOString() });
    const engine = fixture.engine();
    // Observed, not replaced: every ranged read of the blob still goes to Azurite.
    const reads: number[] = [];
    const source = engine.services.source;
    const readRange = source.readRange.bind(source);
    source.readRange = (blob, offset, ...rest) => {
      if (blob.name === "retried.txt") reads.push(offset);
      return readRange(blob, offset, ...rest);
    };

    const summary = await engine.sweep();
    assert.equal(summary.uploaded, 1, JSON.stringify(summary.files));
    assert.equal(fixture.emulator.getItem("retried.txt")?.content?.toString(), "the blob's bytes");
    assert.equal(fixture.emulator.requests.filter((request) => request.batchId !== undefined && request.method === "PUT").length, 1);
    assert.deepEqual(reads, [0], "the blob's bytes were read once, for the check and the upload");
  });
});
