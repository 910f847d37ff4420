import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HttpRequest } from "@azure/functions";
import { createStartTransfersHandler } from "../../functions/app/transfersHttp";
import { azuriteForSuite } from "../support/azurite";
import { createAppWorld, invocation } from "./support/appHarness";

const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

describe("log lines of the function app", () => {
  const suite = azuriteForSuite();

  test("a blob name cannot forge a log line: the worker refuses it and every line it logs is escaped", async () => {
    const world = await createAppWorld(suite.instance);
    suite.closeAfter(world.fixture);
    const forged = "in.txt\r\nerror: transfer of payroll.xlsx failed, \u001b[31mcall +1 555 0100\u001b[0m";
    await world.fixture.putBlob("plain.txt", "plain");
    await world.fixture.putBlob(forged, "forged");
    const start = createStartTransfersHandler(world.httpDependencies());
    const body = JSON.stringify({ blobs: ["plain.txt", forged] });
    const answer = await start(new HttpRequest({ method: "POST", url: "https://app.example/api/transfers", body: { string: body } }), invocation(world.lines, {}, "startTransfers"));
    assert.equal(answer.status, 202);
    const worker = world.worker();
    for (const message of await world.drain()) await world.deliver(worker, message);

    const ledger = world.fixture.engine().services.ledger;
    assert.equal((await ledger.get("plain.txt"))?.status, "done");
    const refused = await ledger.get(forged);
    assert.equal(refused?.status, "failed");
    assert.match(refused?.lastError ?? "", /control characters \(\\u000d at 6, \\u000a at 7, \\u001b at 48, \\u001b at 69\)/);

    assert.ok(world.lines.length > 0);
    for (const line of world.lines) assert.doesNotMatch(line.text, RAW_CONTROL, `one line: ${JSON.stringify(line.text)}`);
    assert.ok(world.lines.some((line) => line.text.includes("in.txt\\u000d\\u000aerror: transfer of payroll.xlsx failed")), "the name is shown, escaped");
  });
});
