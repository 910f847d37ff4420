import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { findSyntaxProblems, formatSyntaxProblems, parseBicep } from "./bicepParser";
import { listBicepFiles, REPO_ROOT } from "./bicepModel";
import { relative } from "node:path";

describe("Bicep syntax (tree-sitter-bicep)", () => {
  test("infra/ holds main.bicep and its modules", () => {
    const names = listBicepFiles().map((path) => relative(REPO_ROOT, path));
    assert.ok(names.includes("infra/main.bicep"), `found: ${names.join(", ")}`);
    assert.ok(names.length > 1, "main.bicep is split into modules");
  });

  for (const path of listBicepFiles()) {
    const name = relative(REPO_ROOT, path);
    test(`${name} parses without ERROR or MISSING nodes`, async () => {
      const problems = findSyntaxProblems(await parseBicep(readFileSync(path, "utf8")), name);
      assert.deepEqual(problems, [], `syntax errors:\n${formatSyntaxProblems(problems)}`);
    });
  }

  // The check must be able to fail: broken snippets report where they break.
  test("a truncated property value is reported as MISSING on its line", async () => {
    const broken = [
      "param name string",
      "resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {",
      "  name: name",
      "  properties: {",
      "    allowSharedKeyAccess:",
      "  }",
      "}",
    ].join("\n");
    const problems = findSyntaxProblems(await parseBicep(broken), "broken.bicep");
    assert.ok(problems.length > 0, "a property without a value is a syntax error");
    assert.equal(problems[0].location.split(":")[1], "5", formatSyntaxProblems(problems));
  });

  test("a stray token is reported as an ERROR on its line", async () => {
    const broken = "param name string\nvar value = )\nvar other = 1\n";
    const problems = findSyntaxProblems(await parseBicep(broken), "broken.bicep");
    const errors = problems.filter((problem) => problem.kind === "ERROR");
    assert.ok(errors.length > 0, formatSyntaxProblems(problems));
    assert.equal(errors[0].location.split(":")[1], "2", formatSyntaxProblems(problems));
  });

  test("a clean snippet reports nothing", async () => {
    const clean = "param name string = 'x'\nvar upper = toUpper(name)\noutput result string = upper\n";
    assert.deepEqual(findSyntaxProblems(await parseBicep(clean), "clean.bicep"), []);
  });
});
