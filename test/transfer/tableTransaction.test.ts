import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TableClient } from "@azure/data-tables";
import { createDefaultHttpClient, createHttpHeaders, createPipelineRequest, RestError, type PipelinePolicy } from "@azure/core-rest-pipeline";
import { parseEntityGroupResponse, submitEntityGroup, type EntityGroupWrite } from "../../functions/storage/tableTransaction";
import { azuriteForSuite } from "../support/azurite";
import { uniqueName } from "../support/transferHarness";

/** A table client that keeps the body of every transaction it sends. */
function recordingTable(connectionString: string, tableName: string): { table: TableClient; bodies: string[] } {
  const bodies: string[] = [];
  const recorder: PipelinePolicy = {
    name: "recordTransactions",
    sendRequest: (request, next) => {
      if (request.url.includes("/$batch") && typeof request.body === "string") bodies.push(request.body);
      return next(request);
    },
  };
  return { table: TableClient.fromConnectionString(connectionString, tableName, { allowInsecureConnection: true, additionalPolicies: [{ policy: recorder, position: "perCall" }] }), bodies };
}

/** The body with its two random boundaries named the same way, so two transactions' texts can be compared. */
function withoutBoundaryIds(body: string): string {
  return body.replace(/batch_[0-9a-f-]{36}/g, "batch_ID").replace(/changeset_[0-9a-f-]{36}/g, "changeset_ID");
}

describe("entity-group transactions written out for the ledger", () => {
  const suite = azuriteForSuite();
  const transport = createDefaultHttpClient();

  test("the request is the SDK's own for the same creates and merges, and the answers carry each row's new ETag", async () => {
    const { table, bodies } = recordingTable(suite.instance.connectionString, uniqueName("txn"));
    await table.createTable();
    await table.createEntity({ partitionKey: "p", rowKey: "merged", status: "pending" });
    const { etag } = await table.getEntity("p", "merged");
    const properties = { status: "done", size: 21474836480, ratio: 1.5, verified: true, note: "it's \"quoted\" ✓" };

    const answers = await submitEntityGroup(table, transport, [
      { kind: "create", partitionKey: "p", rowKey: "created", properties },
      { kind: "merge", partitionKey: "p", rowKey: "merged", properties, etag },
    ]);

    assert.deepEqual(answers.map((answer) => answer.status), [204, 204]);
    assert.equal(answers[0].etag, (await table.getEntity("p", "created")).etag);
    assert.equal(answers[1].etag, (await table.getEntity("p", "merged")).etag);
    assert.notEqual(answers[1].etag, etag, "the merge changed the row's ETag");
    const stored = await table.getEntity<Record<string, unknown>>("p", "merged");
    assert.deepEqual({ status: stored.status, size: stored.size, ratio: stored.ratio, verified: stored.verified, note: stored.note }, properties);

    // The same writes through the SDK (on fresh rows, with the row's current ETag): the same text.
    const sdkTable = recordingTable(suite.instance.connectionString, table.tableName);
    await sdkTable.table.createEntity({ partitionKey: "q", rowKey: "merged", status: "pending" });
    const sdkEtag = (await sdkTable.table.getEntity("q", "merged")).etag;
    await sdkTable.table.submitTransaction([
      ["create", { partitionKey: "q", rowKey: "created", ...properties }],
      ["update", { partitionKey: "q", rowKey: "merged", ...properties }, "Merge", { etag: sdkEtag }],
    ]);
    const ours = withoutBoundaryIds(bodies[0]).replace(/PartitionKey='p'/g, "PartitionKey='q'").replace(/"PartitionKey":"p"/g, "\"PartitionKey\":\"q\"").replace(etag, sdkEtag);
    assert.equal(ours, withoutBoundaryIds(sdkTable.bodies[0]));
  });

  test("a failed condition fails the whole transaction with the service's status and code, and writes nothing", async () => {
    const { table } = recordingTable(suite.instance.connectionString, uniqueName("txn"));
    await table.createTable();
    await table.createEntity({ partitionKey: "p", rowKey: "held", status: "pending" });
    const { etag } = await table.getEntity("p", "held");
    await table.updateEntity({ partitionKey: "p", rowKey: "held", status: "claimed elsewhere" }, "Merge", { etag });

    const writes: EntityGroupWrite[] = [
      { kind: "create", partitionKey: "p", rowKey: "fresh", properties: { status: "pending" } },
      { kind: "merge", partitionKey: "p", rowKey: "held", properties: { status: "mine" }, etag },
    ];
    await assert.rejects(submitEntityGroup(table, transport, writes), (error: unknown) => {
      assert.ok(error instanceof RestError, String(error));
      assert.equal(error.statusCode, 412);
      assert.equal(error.code, "UpdateConditionNotSatisfied");
      return true;
    });
    await assert.rejects(table.getEntity("p", "fresh"), (error: unknown) => (error as RestError).statusCode === 404);
    assert.equal((await table.getEntity("p", "held")).status, "claimed elsewhere");

    await assert.rejects(
      submitEntityGroup(table, transport, [{ kind: "create", partitionKey: "p", rowKey: "held", properties: { status: "again" } }]),
      (error: unknown) => error instanceof RestError && error.statusCode === 409 && error.code === "EntityAlreadyExists",
    );
  });

  test("a property that is not a string, number or boolean is refused before anything is sent", async () => {
    const { table, bodies } = recordingTable(suite.instance.connectionString, uniqueName("txn"));
    const properties = { when: new Date(0) } as unknown as Record<string, string>;
    await assert.rejects(submitEntityGroup(table, transport, [{ kind: "create", partitionKey: "p", rowKey: "r", properties }]), /ledger property when is a object/);
    assert.equal(bodies.length, 0);
  });

  test("an answer that leaves out a change set or a status line is an error, never a success", () => {
    const request = createPipelineRequest({ url: "http://127.0.0.1/devstoreaccount1/$batch" });
    const answer = (status: number, bodyAsText: string) => ({ request, status, headers: createHttpHeaders(), bodyAsText });
    assert.throws(() => parseEntityGroupResponse(answer(202, "--batchresponse_1\r\n\r\n--batchresponse_1--")), /without a change set/);
    assert.throws(
      () => parseEntityGroupResponse(answer(202, "Content-Type: multipart/mixed; boundary=changesetresponse_1\r\n--changesetresponse_1\r\nno status\r\n--changesetresponse_1--")),
      /without a status line/,
    );
    assert.throws(
      () => parseEntityGroupResponse(answer(400, `{"odata.error":{"code":"InvalidInput","message":{"value":"0:Bad request."}}}`)),
      (error: unknown) => error instanceof RestError && error.statusCode === 400 && error.code === "InvalidInput" && error.message === "0:Bad request.",
    );
  });
});
