import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { recordFunctionRegistrations, type Binding } from "../support/functionsCoreStub";
import { FUNCTION_TIMEOUT_MS, MAX_DEQUEUE_COUNT, WORKER_BUDGET_MS } from "../../functions/app/hostLimits";

const registered = recordFunctionRegistrations();

// Every file package.json's "main" glob ("dist/functions/*.js") makes the worker load.
const functionsDirectory = join(__dirname, "..", "..", "functions");
const entryFiles = readdirSync(functionsDirectory).filter((file) => file.endsWith(".js"));
for (const file of entryFiles) require(join(functionsDirectory, file));

const REPO_ROOT = join(__dirname, "..", "..", "..");

function triggerOf(name: string): Binding {
  const entry = registered.find((candidate) => candidate.name === name);
  assert.ok(entry, `${name} was registered`);
  const triggers = Object.values(entry.bindings).filter((binding) => binding.direction === "in" && binding.type.endsWith("Trigger"));
  assert.equal(triggers.length, 1, `${name} has one trigger`);
  return triggers[0];
}

describe("function registrations (what the host binds)", () => {
  test("exactly the expected functions are registered, each once", () => {
    assert.deepEqual(entryFiles.sort(), ["authCallback.js", "authLogin.js", "statusPage.js", "sweep.js", "transferWorker.js", "transfersHttp.js"]);
    assert.deepEqual(
      registered.map((entry) => entry.name).sort(),
      ["authCallback", "authLogin", "startTransfers", "statusPage", "sweep", "transferRow", "transferStatus", "transferWorker"],
    );
  });

  test("sweep: a timer on the TRANSFER_SCHEDULE setting", () => {
    const trigger = triggerOf("sweep");
    assert.equal(trigger.type, "timerTrigger");
    assert.equal(trigger.schedule, "%TRANSFER_SCHEDULE%");
    assert.equal(trigger.runOnStartup, undefined, "never runOnStartup: every scale-out would sweep");
  });

  test("transferWorker: a queue trigger on %TRANSFER_QUEUE% through the SOURCE_STORAGE connection", () => {
    const trigger = triggerOf("transferWorker");
    assert.equal(trigger.type, "queueTrigger");
    assert.equal(trigger.queueName, "%TRANSFER_QUEUE%");
    assert.equal(trigger.connection, "SOURCE_STORAGE");
  });

  test("HTTP routes, methods and auth levels: only the sign-in callback is anonymous", () => {
    const expected: Record<string, { route: string; methods: string[]; authLevel: string }> = {
      authLogin: { route: "auth/login", methods: ["GET"], authLevel: "function" },
      authCallback: { route: "auth/callback", methods: ["GET"], authLevel: "anonymous" },
      startTransfers: { route: "transfers", methods: ["POST"], authLevel: "function" },
      transferStatus: { route: "transfers", methods: ["GET"], authLevel: "function" },
      transferRow: { route: "transfers/{*blob}", methods: ["GET"], authLevel: "function" },
      statusPage: { route: "status", methods: ["GET"], authLevel: "function" },
    };
    for (const [name, shape] of Object.entries(expected)) {
      const trigger = triggerOf(name);
      assert.equal(trigger.type, "httpTrigger", name);
      assert.deepEqual({ route: trigger.route, methods: trigger.methods, authLevel: trigger.authLevel }, shape, name);
    }
    for (const entry of registered.filter((candidate) => candidate.name !== "authCallback")) {
      const trigger = triggerOf(entry.name);
      if (trigger.type === "httpTrigger") assert.ok(["function", "admin"].includes(String(trigger.authLevel)), `${entry.name} needs a key`);
    }
  });

  test("no function has extra bindings the host would have to resolve", () => {
    for (const entry of registered) {
      const others = Object.values(entry.bindings).filter((binding) => !(binding.direction === "in" && binding.type.endsWith("Trigger")));
      const allowed = others.every((binding) => binding.type === "http" && binding.direction === "out");
      assert.ok(allowed, `${entry.name}: ${JSON.stringify(others)}`);
    }
  });
});

describe("host.json agrees with the handlers", () => {
  const host = JSON.parse(readFileSync(join(REPO_ROOT, "host.json"), "utf8")) as {
    version: string;
    functionTimeout: string;
    extensionBundle: { id: string; version: string };
    extensions: { queues: Record<string, unknown>; http?: { routePrefix?: string } };
  };

  function durationMs(text: string): number {
    const match = /^(\d{2}):(\d{2}):(\d{2})$/.exec(text);
    assert.ok(match, `${text} is hh:mm:ss`);
    return ((Number(match[1]) * 60 + Number(match[2])) * 60 + Number(match[3])) * 1000;
  }

  test("v2 schema and the extension bundle range Flex accepts", () => {
    assert.equal(host.version, "2.0");
    assert.deepEqual(host.extensionBundle, { id: "Microsoft.Azure.Functions.ExtensionBundle", version: "[4.*, 5.0.0)" });
    assert.equal(host.extensions.http?.routePrefix ?? "api", "api");
  });

  test("the worker's time budget ends well before the function timeout", () => {
    assert.equal(durationMs(host.functionTimeout), FUNCTION_TIMEOUT_MS);
    assert.ok(WORKER_BUDGET_MS <= FUNCTION_TIMEOUT_MS - 5 * 60 * 1000, "at least five minutes to finish a fragment, checkpoint and queue the continuation");
  });

  test("queue settings: plain-text messages and the dequeue count the poison path expects", () => {
    const queues = host.extensions.queues;
    assert.equal(queues.messageEncoding, "none", "producers write plain JSON; the worker also decodes base64 itself");
    assert.equal(queues.maxDequeueCount, MAX_DEQUEUE_COUNT);
    assert.ok(Number(queues.batchSize) >= 1 && Number(queues.batchSize) <= 32);
    assert.ok(durationMs(String(queues.visibilityTimeout)) > 0, "a failed message waits before its retry");
  });
});
