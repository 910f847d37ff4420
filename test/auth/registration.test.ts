import assert from "node:assert/strict";
import Module from "node:module";
import { join } from "node:path";
import { test } from "node:test";

/**
 * Outside the Functions host the library skips registration silently, so an authLevel mistake would go unnoticed.
 * A stand-in for `@azure/functions-core` makes the library take its real path and hand over each function's
 * binding metadata, which is what the host enforces (the function key for authLevel "function").
 */
interface RegisteredFunction {
  name: string;
  bindings: Record<string, { type: string; direction: string; authLevel?: string; route?: string; methods?: string[] }>;
}

const registered: RegisteredFunction[] = [];
const coreStub = {
  setProgrammingModel: () => undefined,
  registerFunction: (metadata: RegisteredFunction) => {
    registered.push(metadata);
    return { dispose: () => undefined };
  },
  registerHook: () => ({ dispose: () => undefined }),
  log: () => undefined,
};
const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
const originalLoad = loader._load;
loader._load = (request, parent, isMain) => (request === "@azure/functions-core" ? coreStub : originalLoad(request, parent, isMain));

const functionsDirectory = join(__dirname, "..", "..", "functions");
require(join(functionsDirectory, "authLogin.js"));
require(join(functionsDirectory, "authCallback.js"));

function trigger(name: string) {
  const entry = registered.find((candidate) => candidate.name === name);
  assert.ok(entry, `${name} was registered`);
  const binding = Object.values(entry.bindings).find((candidate) => candidate.type === "httpTrigger");
  assert.ok(binding);
  return binding;
}

test("GET auth/login requires the function key (authLevel function)", () => {
  const binding = trigger("authLogin");
  assert.equal(binding.authLevel, "function");
  assert.equal(binding.route, "auth/login");
  assert.deepEqual(binding.methods, ["GET"]);
});

test("GET auth/callback is anonymous, because the identity platform's `code` would be read as a function key", () => {
  const binding = trigger("authCallback");
  assert.equal(binding.authLevel, "anonymous");
  assert.equal(binding.route, "auth/callback");
  assert.deepEqual(binding.methods, ["GET"]);
});
