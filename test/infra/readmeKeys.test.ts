import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { BicepProject, declarations, parameterDefault, REPO_ROOT, stringLiteral } from "./bicepModel";

/** The README's "Link OneDrive" section, up to the next second-level heading. */
function linkSection(): string {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const start = readme.indexOf("\n## Link OneDrive\n");
  assert.ok(start >= 0, "README has a Link OneDrive section");
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe("README: which key opens the login link, and the deploying user's vault role", () => {
  let project: BicepProject;
  before(async () => {
    project = await BicepProject.load();
  });

  test("the login link uses a key of the authLogin function alone, never a host key", () => {
    const section = linkSection();
    const registration = readFileSync(join(REPO_ROOT, "functions", "authLogin.ts"), "utf8");
    const registered = /app\.http\("(\w+)",\s*\{[^}]*authLevel:\s*"function"[^}]*route:\s*"auth\/login"/.exec(registration);
    assert.ok(registered, "functions/authLogin.ts registers auth/login with authLevel function");
    const functionName = registered[1];
    assert.match(section, new RegExp(`az functionapp function keys set [^\\n]*--function-name ${functionName} --key-name login-link`));
    assert.match(section, new RegExp(`az functionapp function keys list [^\\n]*--function-name ${functionName} --query login-link`));
    assert.match(section, new RegExp(`az functionapp function keys delete [^\\n]*--function-name ${functionName} --key-name login-link`));
    assert.doesNotMatch(section, /functionKeys\.default|az functionapp keys (list|set)/, "no host key goes into a browser address");
    for (const opens of ["`/api/auth/login` only", "/api/transfers", "`_master`"]) assert.ok(section.includes(opens), `the key table names ${opens}`);
  });

  test("grant and removal of the deploying user's vault role name the template's secret and role", () => {
    const section = linkSection();
    const tokenSecretName = declarations(project.main, "param").find((param) => param.name === "tokenSecretName")!;
    const secretName = stringLiteral(parameterDefault(tokenSecretName));
    assert.ok(secretName);
    assert.ok(section.includes(`/secrets/${secretName}"`), `the scope is the ${secretName} secret, not the vault`);
    assert.match(section, /az role assignment create [^]*?--role "Key Vault Secrets Officer" --scope "\$SECRET_SCOPE"/);
    assert.match(section, /az role assignment delete [^\n]*--role "Key Vault Secrets Officer" --scope "\$SECRET_SCOPE"/);
    const mapped = JSON.parse(readFileSync(join(REPO_ROOT, "infra", "main.parameters.json"), "utf8")) as { parameters: Record<string, { value: string }> };
    const variable = /^\$\{(\w+)=false\}$/.exec(mapped.parameters.grantDeployerTokenCacheAccess?.value ?? "");
    assert.ok(variable, "the template grant is an azd variable that defaults to false");
    assert.ok(section.includes(`azd env set ${variable[1]} true`));
  });
});
