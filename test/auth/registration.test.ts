import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { recordFunctionRegistrations } from "../support/functionsCoreStub";

const registered = recordFunctionRegistrations();

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
