import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SETTINGS } from "../../functions/config/settingsSchema";

test("the README's settings table names every setting the code reads, with the code's default", () => {
  const readme = readFileSync(join(__dirname, "..", "..", "..", "README.md"), "utf8");
  const rows = readme.split("\n").filter((line) => line.startsWith("| "));
  for (const setting of SETTINGS) {
    const row = rows.find((line) => line.split("|")[1].split(",").map((name) => name.trim()).includes(setting.name));
    assert.ok(row, `README settings table lacks ${setting.name}`);
    if (setting.defaultValue) assert.ok(row.includes(setting.defaultValue), `README default of ${setting.name} should be ${setting.defaultValue}`);
  }
});
