import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { controlCharacterProblem, escapeControlCharacters } from "../../functions/transfer/blobNameText";
import { azuriteForSuite } from "../support/azurite";
import { createTransferFixture } from "../support/transferHarness";

const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

describe("blob names with control characters", () => {
  const suite = azuriteForSuite();

  test("each such blob fails alone with an error naming the escaped name and the character; the others upload", async () => {
    const fixture = suite.closeAfter(await createTransferFixture(suite.instance));
    const forged = "report\nerror: Blob \"payroll.xlsx\" deleted.txt";
    const names = ["fine.txt", forged, "tab\there.txt", "bell\u0007.txt", "c1\u0085next.txt", "sep\u2028line.txt"];
    for (const name of names) await fixture.putBlob(name, `content of ${JSON.stringify(name)}`);
    fixture.emulator.clearRequests();
    // One transfer per name, as the queue worker runs them: Azurite answers a listing that holds such names with 500
    // (Azure returns them with Encoded="true"), so a sweep cannot be the driver here.
    const engine = fixture.engine();
    const outcomes = [];
    for (const name of names) outcomes.push(await engine.transferBlob(name));
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ["uploaded", "failed", "failed", "failed", "failed", "failed"]);
    const errors = Object.fromEntries(outcomes.map((file) => [file.blob, file.error ?? ""]));
    assert.equal(errors["fine.txt"], "");
    assert.match(errors[forged], /^Blob "report\\u000aerror: Blob "payroll\.xlsx" deleted\.txt" was refused: the name holds control character \(\\u000a at 6\)/);
    assert.match(errors["tab\there.txt"], /\\u0009 at 3/);
    assert.match(errors["bell\u0007.txt"], /\\u0007 at 4/);
    assert.match(errors["c1\u0085next.txt"], /\\u0085 at 2/);
    assert.match(errors["sep\u2028line.txt"], /\\u2028 at 3/);
    for (const [name, error] of Object.entries(errors)) assert.doesNotMatch(error, RAW_CONTROL, `the error for ${JSON.stringify(name)} is one plain line`);
    assert.deepEqual(fixture.emulator.listTree().filter((path) => !path.endsWith("/")), ["fine.txt"]);
    for (const request of fixture.emulator.requests) assert.doesNotMatch(decodeURIComponent(request.url), RAW_CONTROL, "no request names a refused blob");

    const ledger = fixture.engine().services.ledger;
    const row = await ledger.get(forged);
    assert.equal(row?.status, "failed");
    assert.equal(row?.lastError, errors[forged]);
    const refusals = fixture.log.lines.filter((line) => line.startsWith("error: "));
    assert.equal(refusals.length, 5);
    for (const line of refusals) assert.doesNotMatch(line, RAW_CONTROL);
  });

  test("the check and the escaping name every control character and leave other text alone", () => {
    assert.equal(controlCharacterProblem("ünïcødé #1 100%.txt"), undefined);
    assert.equal(controlCharacterProblem("a\\u000ab.txt"), undefined, "an escape sequence typed as text is not a control character");
    assert.equal(escapeControlCharacters("a\r\nb\u001b[2Kc\u007f"), "a\\u000d\\u000ab\\u001b[2Kc\\u007f");
    assert.match(controlCharacterProblem("\u0000\u0001\u0002\u0003\u0004\u0005\u0006") ?? "", /\\u0000 at 0, .*\\u0004 at 4 and 2 more/);
  });
});
