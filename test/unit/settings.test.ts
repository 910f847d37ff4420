import { test } from "node:test";
import assert from "node:assert/strict";
import { fragmentSizeBytes, loadEngineSettings, SettingsError } from "../../functions/config/settings";
import { destinationFor } from "../../functions/transfer/destinationPath";
import { normaliseEtag } from "../../functions/storage/blobSource";

test("defaults give a working configuration for the local emulators", () => {
  const settings = loadEngineSettings({});
  assert.deepEqual(settings.storage, { kind: "connectionString", connectionString: "UseDevelopmentStorage=true" });
  assert.equal(settings.sourceContainer, "outbox");
  assert.equal(settings.fragmentSizeBytes, 10 * 1024 * 1024);
  assert.equal(settings.conflictBehavior, "replace");
  assert.equal(settings.afterTransfer, "keep");
  assert.equal(settings.transferConcurrency, 4);
  assert.equal(settings.graphBaseUrl, "https://graph.microsoft.com/v1.0");
  assert.equal(settings.ledgerTable, "onedrivetransfers");
});

test("files land in a dedicated folder unless the drive root is asked for with /", () => {
  assert.equal(loadEngineSettings({}).destFolder, "From Azure");
  assert.equal(loadEngineSettings({ DEST_FOLDER: "" }).destFolder, "From Azure", "an empty value is not a request for the root");
  assert.equal(loadEngineSettings({ DEST_FOLDER: "/" }).destFolder, "");
  assert.equal(loadEngineSettings({ DEST_FOLDER: "/Backups/Blobs/" }).destFolder, "Backups/Blobs");
  assert.equal(destinationFor("a/b.txt", "", loadEngineSettings({}).destFolder).fullPath, "From Azure/a/b.txt");
});

test("GRAPH_ACCESS_TOKEN is refused in Azure, where it would bypass the sign-in", () => {
  assert.doesNotThrow(() => loadEngineSettings({ GRAPH_ACCESS_TOKEN: "emulator-token" }));
  assert.throws(() => loadEngineSettings({ GRAPH_ACCESS_TOKEN: "plain-bearer-token", WEBSITE_SITE_NAME: "func-abc" }), (error: unknown) => {
    assert.ok(error instanceof SettingsError);
    assert.match(error.message, /GRAPH_ACCESS_TOKEN is set in Azure/);
    assert.doesNotMatch(error.message, /plain-bearer-token/);
    return true;
  });
});

test("FRAGMENT_SIZE_MB rounds down to 320 KiB multiples and stays under 60 MiB", () => {
  assert.equal(fragmentSizeBytes(60), 62_586_880);
  assert.equal(fragmentSizeBytes(1), 983_040);
  assert.equal(fragmentSizeBytes(5), 5_242_880);
  assert.equal(fragmentSizeBytes(7) % 327_680, 0);
});

test("every invalid setting is reported at once, each with its problem and the accepted range", () => {
  assert.throws(
    () =>
      loadEngineSettings({
        FRAGMENT_SIZE_MB: "0",
        CONFLICT_BEHAVIOR: "overwrite",
        AFTER_TRANSFER: "move",
        TRANSFER_CONCURRENCY: "many",
        GRAPH_ENDPOINT: "ftp://example",
        SOURCE_CONTAINER: "Bad_Container",
        LEDGER_TABLE: "x",
      }),
    (error: unknown) => {
      assert.ok(error instanceof SettingsError);
      assert.equal(error.problems.length, 7, error.message);
      assert.match(error.message, /FRAGMENT_SIZE_MB is "0", not a whole number from 1 to 60/);
      assert.match(error.message, /CONFLICT_BEHAVIOR is "overwrite": use one of: replace, rename, fail/);
      assert.match(error.message, /AFTER_TRANSFER is "move": use one of: keep, delete, archive/);
      assert.match(error.message, /TRANSFER_CONCURRENCY is "many"/);
      assert.match(error.message, /GRAPH_ENDPOINT .*https/);
      assert.match(error.message, /SOURCE_CONTAINER is "Bad_Container"/);
      assert.match(error.message, /LEDGER_TABLE is "x"/);
      return true;
    },
  );
});

test("archiving into the source container is refused", () => {
  assert.throws(() => loadEngineSettings({ AFTER_TRANSFER: "archive", ARCHIVE_CONTAINER: "outbox" }), /ARCHIVE_CONTAINER equals SOURCE_CONTAINER/);
});

test("a managed identity connection is read from SOURCE_STORAGE__* settings", () => {
  const settings = loadEngineSettings({
    SOURCE_STORAGE__blobServiceUri: "https://acct.blob.core.windows.net",
    SOURCE_STORAGE__queueServiceUri: "https://acct.queue.core.windows.net",
    SOURCE_STORAGE__tableServiceUri: "https://acct.table.core.windows.net",
    SOURCE_STORAGE__clientId: "00000000-0000-0000-0000-000000000001",
  });
  assert.deepEqual(settings.storage, {
    kind: "identity",
    blobServiceUri: "https://acct.blob.core.windows.net",
    queueServiceUri: "https://acct.queue.core.windows.net",
    tableServiceUri: "https://acct.table.core.windows.net",
    clientId: "00000000-0000-0000-0000-000000000001",
  });
});

test("destination paths: prefix cut, DEST_FOLDER prepended, prefix naming one blob keeps its base name", () => {
  assert.deepEqual(destinationFor("in/a/b.txt", "in/", "Docs/Sub"), { fullPath: "Docs/Sub/a/b.txt", folderPath: "Docs/Sub/a", fileName: "b.txt" });
  assert.deepEqual(destinationFor("in/a.txt", "in", ""), { fullPath: "a.txt", folderPath: "", fileName: "a.txt" });
  assert.deepEqual(destinationFor("exports/daily.csv", "exports/daily.csv", "R"), { fullPath: "R/daily.csv", folderPath: "R", fileName: "daily.csv" });
  assert.equal(loadEngineSettings({ DEST_FOLDER: "/Backups/2026/" }).destFolder, "Backups/2026");
});

test("ETags compare equal whether quoted (properties) or not (listings)", () => {
  assert.equal(normaliseEtag('"0x8DC0FFEE"'), "0x8DC0FFEE");
  assert.equal(normaliseEtag("0x8DC0FFEE"), "0x8DC0FFEE");
  assert.equal(normaliseEtag('W/"0x8DC0FFEE"'), "0x8DC0FFEE");
});

test("GRAPH_ENDPOINT must be https, except http on this machine for a local emulator", () => {
  assert.equal(loadEngineSettings({ GRAPH_ENDPOINT: "http://127.0.0.1:8080/" }).graphBaseUrl, "http://127.0.0.1:8080/v1.0");
  assert.equal(loadEngineSettings({ GRAPH_ENDPOINT: "https://graph.microsoft.us" }).graphBaseUrl, "https://graph.microsoft.us/v1.0");
  assert.throws(() => loadEngineSettings({ GRAPH_ENDPOINT: "http://graph.example.com" }), /GRAPH_ENDPOINT is "http:\/\/graph.example.com", which is not an https URL/);
});

test("a value left under the former name CHUNK_SIZE_MB is refused, naming the rename, never silently ignored", () => {
  assert.throws(
    () => loadEngineSettings({ CHUNK_SIZE_MB: "20" }),
    (error: unknown) => {
      assert.ok(error instanceof SettingsError);
      assert.equal(error.problems.length, 1, error.message);
      assert.match(error.message, /CHUNK_SIZE_MB is set, but the setting is now called FRAGMENT_SIZE_MB: rename it to FRAGMENT_SIZE_MB/);
      return true;
    },
  );
  assert.equal(loadEngineSettings({ CHUNK_SIZE_MB: "20", FRAGMENT_SIZE_MB: "5" }).fragmentSizeBytes, fragmentSizeBytes(5));
});
