import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { startOneDriveEmulator, type DriveType, type OneDriveEmulator, type OneDriveEmulatorOptions } from "./index";
import { createSession, encodePath, graph, patternBytes, referenceQuickXorHash, uploadAll } from "./testClient";

const CHUNK = 327_680;

async function withEmulator(options: OneDriveEmulatorOptions, body: (emulator: OneDriveEmulator) => Promise<void>): Promise<void> {
  const emulator = await startOneDriveEmulator(options);
  try {
    await body(emulator);
  } finally {
    await emulator.close();
  }
}

/** Uploads through a session in 320 KiB fragments and returns the final answer's driveItem. */
async function uploadBySession(emulator: OneDriveEmulator, path: string, content: Buffer): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const responses = await uploadAll(await createSession(emulator, path), content, CHUNK);
  const last = responses[responses.length - 1];
  assert.ok(last.status === 201 || last.status === 200, `commit of ${path}: ${last.status} ${JSON.stringify(last.body)}`);
  return last.body;
}

async function uploadSimple(emulator: OneDriveEmulator, path: string, content: Buffer): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const response = await graph(emulator, "PUT", `/me/drive/root:/${encodePath(path)}:/content`, { body: content });
  assert.ok(response.status === 201 || response.status === 200, `PUT ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

async function makeFolder(emulator: OneDriveEmulator, name: string): Promise<void> {
  const created = await graph(emulator, "POST", "/me/drive/root/children", { json: { name, folder: {} } });
  assert.equal(created.status, 201);
}

describe("OneDrive emulator: drive types", () => {
  for (const driveType of ["personal", "business", "documentLibrary"] as DriveType[]) {
    test(`a ${driveType} drive reports driveType "${driveType}" on the drive and in items' parentReference`, async () => {
      await withEmulator({ driveType }, async (emulator) => {
        assert.equal((await graph(emulator, "GET", "/me/drive")).body.driveType, driveType);
        await makeFolder(emulator, "folder");
        const uploaded = await uploadBySession(emulator, "folder/file.bin", patternBytes(10, 1));
        assert.equal(uploaded.parentReference.driveType, driveType);
        const root = await graph(emulator, "GET", "/me/drive/root");
        assert.equal(root.body.parentReference.driveType, driveType);
        const listed = await graph(emulator, "GET", "/me/drive/root:/folder:/children");
        assert.equal(listed.body.value[0].parentReference.driveType, driveType);
      });
    });
  }

  test("a documentLibrary drive keeps SharePoint's one open session per path (409), as a business drive does", async () => {
    await withEmulator({ driveType: "documentLibrary" }, async (emulator) => {
      await createSession(emulator, "one.bin");
      const second = await graph(emulator, "POST", "/me/drive/root:/one.bin:/createUploadSession", { json: {} });
      assert.equal(second.status, 409);
      assert.equal(second.body.error.code, "nameAlreadyExists");
    });
  });
});

describe("OneDrive emulator: SharePoint's rewrite of Office and JPEG files", () => {
  const rewritten = ["report.docx", "sheet.XLSX", "deck.pptx", "photo.jpg", "PHOTO2.JPEG"];
  const untouched = ["notes.txt", "scan.pdf", "image.png", "archive.zip", "docx", "photo.jpg.bin"];

  for (const driveType of ["business", "documentLibrary"] as DriveType[]) {
    test(`rewriteOnCommit: true on a ${driveType} drive changes size and hash of the documented kinds only, by session and by simple PUT`, async () => {
      await withEmulator({ driveType, rewriteOnCommit: true }, async (emulator) => {
        const content = patternBytes(2 * CHUNK + 99, 7);
        await makeFolder(emulator, "s");
        await makeFolder(emulator, "p");
        for (const [index, name] of [...rewritten, ...untouched].entries()) {
          const viaSession = await uploadBySession(emulator, `s/${name}`, content);
          const viaSimple = await uploadSimple(emulator, `p/${name}`, content.subarray(0, 5000));
          const expectRewrite = rewritten.includes(name);
          for (const [item, sent, path] of [[viaSession, content, `s/${name}`], [viaSimple, content.subarray(0, 5000), `p/${name}`]] as const) {
            const stored = emulator.getItem(path)!;
            assert.equal(item.size, stored.size);
            assert.equal(item.file.hashes.quickXorHash, referenceQuickXorHash(stored.content!), `${path}: the answer describes the stored bytes`);
            if (expectRewrite) {
              assert.ok(item.size > sent.length, `${path} (${index}) grew: ${item.size}`);
              assert.notEqual(item.file.hashes.quickXorHash, referenceQuickXorHash(sent), `${path}: hash changed`);
              assert.ok(stored.content!.subarray(0, sent.length).equals(sent), `${path}: the sent bytes come first`);
            } else {
              assert.equal(item.size, sent.length, `${path}: size kept`);
              assert.equal(item.file.hashes.quickXorHash, referenceQuickXorHash(sent), `${path}: hash kept`);
            }
          }
        }
      });
    });
  }

  test("a personal drive refuses to be configured to rewrite, whatever the form; false is accepted", async () => {
    await assert.rejects(startOneDriveEmulator({ rewriteOnCommit: true }), /personal drive never rewrites/);
    await assert.rejects(startOneDriveEmulator({ driveType: "personal", rewriteOnCommit: () => true }), /personal drive never rewrites/);
    await withEmulator({ driveType: "personal", rewriteOnCommit: false }, async (emulator) => {
      const content = patternBytes(100, 2);
      const item = await uploadBySession(emulator, "kept.docx", content);
      assert.equal(item.size, content.length);
      assert.equal(item.file.hashes.quickXorHash, referenceQuickXorHash(content));
    });
  });

  test("a business drive without rewriteOnCommit stores Office files as sent", async () => {
    await withEmulator({ driveType: "business" }, async (emulator) => {
      const content = patternBytes(100, 3);
      const item = await uploadBySession(emulator, "as-sent.docx", content);
      assert.equal(item.file.hashes.quickXorHash, referenceQuickXorHash(content));
    });
  });
});

describe("OneDrive emulator: hashes that appear late on business drives", () => {
  test("hashMissingForGets: 2: the commit answer and the first two GETs have no file.hashes, the third has", async () => {
    await withEmulator({ driveType: "business", hashMissingForGets: 2 }, async (emulator) => {
      const content = patternBytes(2 * CHUNK + 5, 4);
      const committed = await uploadBySession(emulator, "late.bin", content);
      assert.equal(committed.size, content.length, "size is known at commit");
      assert.equal(typeof committed.file.mimeType, "string");
      assert.equal("hashes" in committed.file, false);
      const gets = [];
      for (let index = 0; index < 3; index++) gets.push((await graph(emulator, "GET", `/me/drive/items/${committed.id}`)).body);
      assert.deepEqual(gets.map((item) => "hashes" in item.file), [false, false, true]);
      assert.equal(gets[2].file.hashes.quickXorHash, referenceQuickXorHash(content));
      assert.equal(emulator.getItem("late.bin")!.quickXorHash, referenceQuickXorHash(content), "the test view always has the hash");
    });
  });

  test("children listings count as GETs; a simple PUT and a re-upload start the count again", async () => {
    await withEmulator({ driveType: "documentLibrary", hashMissingForGets: 1 }, async (emulator) => {
      await makeFolder(emulator, "dir");
      const first = await uploadSimple(emulator, "dir/small.txt", Buffer.from("abc"));
      assert.equal("hashes" in first.file, false);
      const listing = await graph(emulator, "GET", "/me/drive/root:/dir:/children");
      assert.equal("hashes" in listing.body.value[0].file, false);
      const afterListing = await graph(emulator, "GET", "/me/drive/root:/dir/small.txt");
      assert.equal(afterListing.body.file.hashes.quickXorHash, "YRDDGAAAAAAAAAAAAwAAAAAAAAA=");
      const replaced = await uploadSimple(emulator, "dir/small.txt", Buffer.from("abcd"));
      assert.equal("hashes" in replaced.file, false);
      assert.equal("hashes" in (await graph(emulator, "GET", "/me/drive/root:/dir/small.txt")).body.file, false);
      assert.equal("hashes" in (await graph(emulator, "GET", "/me/drive/root:/dir/small.txt")).body.file, true);
    });
  });

  test("a file put in place by the test (putFile) has its hash at once; a personal drive refuses hashMissingForGets", async () => {
    await withEmulator({ driveType: "business", hashMissingForGets: 3 }, async (emulator) => {
      const seeded = emulator.putFile("seeded.txt", "abc");
      assert.equal((await graph(emulator, "GET", `/me/drive/items/${seeded.id}`)).body.file.hashes.quickXorHash, "YRDDGAAAAAAAAAAAAwAAAAAAAAA=");
    });
    await assert.rejects(startOneDriveEmulator({ hashMissingForGets: 1 }), /business-drive habit/);
    await assert.rejects(startOneDriveEmulator({ driveType: "business", hashMissingForGets: -1 }), /whole number/);
  });

  test("with rewriteOnCommit, the hash that appears late is the rewritten file's", async () => {
    await withEmulator({ driveType: "business", rewriteOnCommit: true, hashMissingForGets: 1 }, async (emulator) => {
      const content = patternBytes(1000, 8);
      const committed = await uploadBySession(emulator, "minutes.docx", content);
      assert.equal("hashes" in committed.file, false);
      assert.ok(committed.size > content.length);
      await graph(emulator, "GET", `/me/drive/items/${committed.id}`);
      const later = await graph(emulator, "GET", `/me/drive/items/${committed.id}`);
      assert.equal(later.body.file.hashes.quickXorHash, referenceQuickXorHash(emulator.getItem("minutes.docx")!.content!));
      assert.notEqual(later.body.file.hashes.quickXorHash, referenceQuickXorHash(content));
    });
  });
});
