import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { recordFunctionRegistrations } from "../support/functionsCoreStub";

test("registering every function loads no telemetry SDK, even with a connection string set", () => {
  process.env.APPLICATIONINSIGHTS_CONNECTION_STRING = "InstrumentationKey=00000000-0000-4000-8000-000000000001;IngestionEndpoint=https://localhost:9/";
  const registered = recordFunctionRegistrations();
  const functionsDir = join(__dirname, "..", "..", "functions");
  for (const file of readdirSync(functionsDir).filter((name) => name.endsWith(".js"))) require(join(functionsDir, file));
  assert.ok(registered.some((registration) => registration.name === "transferWorker"), "the worker registered");
  const telemetryModules = Object.keys(require.cache).filter((path) => /[\\/](@opentelemetry|@azure[\\/]monitor-opentelemetry-exporter)[\\/]/.test(path));
  assert.deepEqual(telemetryModules, [], "the SDK is loaded on the first invocation, not at registration");
});
