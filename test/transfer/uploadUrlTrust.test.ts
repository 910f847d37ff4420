import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { UploadUrlSeal, uploadUrlSealFor } from "../../functions/transfer/uploadUrlTrust";
import { verifyStoredItem } from "../../functions/transfer/verification";
import { destinationFor } from "../../functions/transfer/destinationPath";

const URL_A = "https://tenant.sharepoint.com/_api/v2.0/drive/items/1/uploadSession?guid='a'&tempauth=eyJ0";

describe("upload URL seals", () => {
  test("a seal verifies its own URL under the same key only", () => {
    const seal = uploadUrlSealFor({ CLIENT_SECRET: "secret-one" });
    const sealed = seal.seal(URL_A);
    assert.equal(seal.verifies(URL_A, sealed), true);
    assert.equal(uploadUrlSealFor({ CLIENT_SECRET: "secret-one" }).verifies(URL_A, sealed), true, "same secret, another process");
    assert.equal(seal.verifies(URL_A.replace("tenant.sharepoint.com", "127.0.0.1:9"), sealed), false, "another host");
    assert.equal(seal.verifies(`${URL_A}x`, sealed), false);
    assert.equal(uploadUrlSealFor({ CLIENT_SECRET: "secret-two" }).verifies(URL_A, sealed), false, "another key");
    assert.equal(seal.verifies(URL_A, undefined), false);
    assert.equal(seal.verifies(URL_A, sealed.replace(/^v1\./, "v2.")), false);
    assert.equal(seal.verifies(URL_A, `${sealed}.x`), false);
  });

  test("the key comes from CLIENT_SECRET, else GRAPH_ACCESS_TOKEN, else this process alone; never shown", () => {
    assert.equal(uploadUrlSealFor({ UPLOAD_URL_SEAL_KEY: "k", CLIENT_SECRET: "s" }).keySource, "UPLOAD_URL_SEAL_KEY");
    const appOnly = uploadUrlSealFor({ UPLOAD_URL_SEAL_KEY: "k" });
    assert.equal(uploadUrlSealFor({ UPLOAD_URL_SEAL_KEY: "k" }).verifies(URL_A, appOnly.seal(URL_A)), true, "app-only: another process resumes");
    assert.equal(uploadUrlSealFor({ CLIENT_SECRET: "s", GRAPH_ACCESS_TOKEN: "t" }).keySource, "CLIENT_SECRET");
    assert.equal(uploadUrlSealFor({ GRAPH_ACCESS_TOKEN: "t" }).keySource, "GRAPH_ACCESS_TOKEN");
    const processOnly = uploadUrlSealFor({});
    assert.equal(processOnly.keySource, "this process only");
    assert.equal(uploadUrlSealFor({}).verifies(URL_A, processOnly.seal(URL_A)), true, "one key per process");
    assert.equal(UploadUrlSeal.forThisProcessOnly().verifies(URL_A, processOnly.seal(URL_A)), false);
    const seal = UploadUrlSeal.fromSecret("do-not-print", "CLIENT_SECRET");
    assert.ok(!JSON.stringify({ seal }).includes("do-not-print") && !inspect(seal).includes("do-not-print"));
  });
});

describe("where the stored item is", () => {
  const expected = (path: string, conflictBehavior: "replace" | "rename" = "replace") => ({
    size: 3, quickXorHash: "h", destination: destinationFor(path, "", ""), conflictBehavior,
  });
  const item = (parentPath: string | undefined, name: string) => ({
    id: "1", name, size: 3, parentReference: { driveType: "personal", path: parentPath }, file: { hashes: { quickXorHash: "h" } },
  });

  test("the folder from a percent-encoded or plain parent path, names compared without case", () => {
    assert.equal(verifyStoredItem(item("/drive/root:/Sub%20Dir/100%25", "A.txt"), expected("sub dir/100%/a.txt")).kind, "verified");
    assert.equal(verifyStoredItem(item("/drives/b!x/root:/Sub Dir", "a.txt"), expected("Sub Dir/a.txt")).kind, "verified");
    assert.equal(verifyStoredItem(item("/drive/root:", "a.txt"), expected("a.txt")).kind, "verified");
    assert.equal(verifyStoredItem(item("/drive/root:/other", "a.txt"), expected("a.txt")).kind, "failed");
    assert.equal(verifyStoredItem(item(undefined, "a.txt"), expected("a.txt")).kind, "failed");
    assert.equal(verifyStoredItem(item("/drive/root:", "b.txt"), expected("a.txt")).kind, "failed");
  });

  test("under rename, OneDrive's numbered copy beside the destination is the file", () => {
    assert.equal(verifyStoredItem(item("/drive/root:/r", "report 1.pdf"), expected("r/report.pdf", "rename")).kind, "verified");
    assert.equal(verifyStoredItem(item("/drive/root:/r", "report 1.pdf"), expected("r/report.pdf")).kind, "failed");
    assert.equal(verifyStoredItem(item("/drive/root:/r", "report x.pdf"), expected("r/report.pdf", "rename")).kind, "failed");
  });
});
