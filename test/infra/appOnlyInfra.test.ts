import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { federatedCredentialCommand, siteGrantCommand } from "../../functions/auth/adminCommands";
import { BicepEvaluator, BicepFailure, UNKNOWN } from "./bicepEvaluator";
import { BicepProject, children, declarationBody, declarations, INFRA_DIR, property, REPO_ROOT, type Declaration } from "./bicepModel";

/**
 * authMode app in the template: no client secret, no token-cache secret, no Key Vault role for the app, the
 * settings the code reads in app mode, and the one-time admin commands as outputs that azd prints.
 */
const CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000002";
const TENANT_ID = "5e5e5e5e-0000-4000-8000-00000000cafe";

describe("authMode app in infra/", () => {
  let project: BicepProject;
  const app = () => new BicepEvaluator(project, { authMode: "app", clientId: CLIENT_ID, signInTenant: TENANT_ID, environmentName: "dev" });
  const delegated = () => new BicepEvaluator(project, { clientId: CLIENT_ID, signInTenant: TENANT_ID, environmentName: "dev" });
  /** Whether a resource is deployed: its `if (...)` condition, or true when it has none. */
  const deployed = (evaluator: BicepEvaluator, resource: Declaration) => {
    const condition = children(resource.node).find((child) => child.type === "if_statement");
    return condition ? evaluator.evaluate(resource.file, children(condition)[0]) : true;
  };
  const keyVaultResources = () => [
    ...project.resources("Microsoft.KeyVault/vaults/secrets"),
    ...project.resources("Microsoft.Authorization/roleAssignments").filter((assignment) => assignment.file.name.endsWith("keyvault.bicep")),
  ];
  const setting = (evaluator: BicepEvaluator, name: string) => {
    const config = project.resources("Microsoft.Web/sites/config")[0];
    return evaluator.evaluate(config.file, property(declarationBody(config), `properties.${name}`)!);
  };
  const appSettingText = (name: string) => {
    const config = project.resources("Microsoft.Web/sites/config")[0];
    return property(declarationBody(config), `properties.${name}`)!.text;
  };
  const output = (evaluator: BicepEvaluator, name: string) => {
    const found = declarations(project.main, "output").find((candidate) => candidate.name === name);
    assert.ok(found, `main.bicep has no output ${name}`);
    return evaluator.evaluate(project.main, children(found.node).at(-1)!);
  };

  before(async () => {
    project = await BicepProject.load();
  });

  const APP_MODE_ONLY = ["uploadUrlSealKey", "appSealKeyUser"];

  test("delegated stays the default: both secrets and their roles exist, CLIENT_SECRET is the vault reference", () => {
    const onRequestOnly = "userTokenCacheOfficer"; // also needs grantDeployerTokenCacheAccess and a principal id
    const conditional = keyVaultResources().filter((resource) => resource.name !== onRequestOnly && !APP_MODE_ONLY.includes(resource.name));
    assert.ok(conditional.length >= 4);
    assert.deepEqual(conditional.map((resource) => [resource.name, deployed(delegated(), resource)]).filter(([, on]) => on !== true), []);
    assert.deepEqual(APP_MODE_ONLY.map((name) => deployed(delegated(), keyVaultResources().find((resource) => resource.name === name)!)), [false, false]);
    assert.equal(setting(delegated(), "UPLOAD_URL_SEAL_KEY"), "", "delegated seals with a key derived from the client secret");
    assert.equal(setting(delegated(), "AUTH_MODE"), "delegated");
    assert.equal(output(delegated(), "APP_ONLY_FEDERATED_CREDENTIAL_COMMAND"), "");
  });

  test("app mode deploys no client secret and no token cache; the app may only read the upload-URL seal key", () => {
    const present = keyVaultResources().filter((resource) => deployed(app(), resource) !== false).map((resource) => resource.name);
    assert.deepEqual(present.sort(), [...APP_MODE_ONLY].sort());
    const sealKey = keyVaultResources().find((resource) => resource.name === "uploadUrlSealKey")!;
    let previous = sealKey.node.previousNamedSibling;
    while (previous?.type === "comment") previous = previous.previousNamedSibling;
    assert.ok(previous?.type === "decorators" && /@onlyIfNotExists\(\)/.test(previous.text), "a redeploy keeps the key, so sessions in flight stay trusted");
    assert.equal(property(declarationBody(sealKey), "properties.value")!.text, "uploadUrlSealSeed");
    const seed = declarations(sealKey.file, "param").find((param) => param.name === "uploadUrlSealSeed")!;
    assert.match(seed.node.text, /= '\$\{newGuid\(\)\}\$\{newGuid\(\)\}'$/, "a fresh random value, never a literal");
    assert.match(String(appSettingText("UPLOAD_URL_SEAL_KEY")), /^settings\.authMode == 'app' \? '@Microsoft\.KeyVault\(SecretUri=\$\{uploadUrlSealKeyUri\}\)' : ''$/);
    assert.equal(setting(app(), "AUTH_MODE"), "app");
    assert.equal(setting(app(), "CLIENT_SECRET"), "", "no secret, not even a reference");
    assert.equal(setting(app(), "APP_CREDENTIAL"), "managed-identity");
    const mapped = (JSON.parse(readFileSync(join(INFRA_DIR, "main.parameters.json"), "utf8")) as { parameters: Record<string, { value: string }> }).parameters;
    assert.equal(mapped.authMode.value, "${AUTH_MODE=delegated}");
  });

  test("azd asks for no secret or account in app mode, and delegated mode stops the deployment without them", () => {
    const keyVault = declarations(project.main, "module").find((module) => module.name === "keyVault")!;
    const functionApp = declarations(project.main, "module").find((module) => module.name === "functionApp")!;
    const secretPassed = property(declarationBody(keyVault), "params.clientSecret")!;
    const accountPassed = property(declarationBody(functionApp), "params.settings.expectedAccount")!;
    const withValues = (values: Record<string, string>) => new BicepEvaluator(project, { clientId: CLIENT_ID, signInTenant: TENANT_ID, ...values });
    assert.equal(withValues({ authMode: "app" }).evaluate(project.main, secretPassed), "");
    assert.equal(withValues({ authMode: "app" }).evaluate(project.main, accountPassed), "");
    assert.equal(withValues({ clientSecret: "s3cret-value" }).evaluate(project.main, secretPassed), "s3cret-value");
    assert.equal(withValues({ expectedAccount: "you@example.com" }).evaluate(project.main, accountPassed), "you@example.com");
    assert.throws(() => withValues({}).evaluate(project.main, secretPassed), (error: Error) => error instanceof BicepFailure && /clientSecret is required with authMode delegated/.test(error.message));
    assert.throws(() => withValues({}).evaluate(project.main, accountPassed), (error: Error) => error instanceof BicepFailure && /expectedAccount is required with authMode delegated/.test(error.message));
  });

  test("the federated-credential output names the function app's identity as subject, with the documented issuer and audience", () => {
    const parameters = declarations(project.main, "var").find((candidate) => candidate.name === "federatedCredentialParameters")!;
    const body = children(parameters.node)[1];
    const evaluator = app();
    assert.equal(evaluator.evaluate(project.main, property(body, "issuer")!), `https://login.microsoftonline.com/${TENANT_ID}/v2.0`);
    assert.deepEqual(evaluator.evaluate(project.main, property(body, "audiences")!), ["api://AzureADTokenExchange"]);
    assert.equal(property(body, "subject")!.text, "identity.outputs.principalId", "the managed identity's object id, known only in Azure");
    assert.equal(output(evaluator, "APP_ONLY_FEDERATED_CREDENTIAL_COMMAND"), UNKNOWN, "it carries the principal id, so it is computed at deployment");
    // The same command the app prints when the credential is missing, with the template's values filled in.
    const appCommand = federatedCredentialCommand(CLIENT_ID, TENANT_ID, "PRINCIPAL");
    const templateShape = `az ad app federated-credential create --id ${CLIENT_ID} --parameters '${JSON.stringify({ name: "onedrive-connector-dev", issuer: `https://login.microsoftonline.com/${TENANT_ID}/v2.0`, subject: "PRINCIPAL", audiences: ["api://AzureADTokenExchange"] })}'`;
    assert.equal(templateShape.replace("onedrive-connector-dev", "onedrive-connector-function"), appCommand);
  });

  test("the site-grant output is the grant the app names on a 403, behind a site-id lookup", () => {
    const command = String(output(app(), "APP_ONLY_SITE_GRANT_COMMAND"));
    assert.ok(command.startsWith('SITE_ID=$(az rest --method get --url "https://graph.microsoft.com/v1.0/sites/<host>:/<site path>?$select=id" --query id -o tsv) && '), command);
    const grant = command.split(" && ")[1];
    assert.equal(grant, siteGrantCommand(CLIENT_ID, "$SITE_ID").replace("--url https://graph.microsoft.com/v1.0/sites/$SITE_ID/permissions", '--url "https://graph.microsoft.com/v1.0/sites/$SITE_ID/permissions"'));
    assert.equal(output(delegated(), "APP_ONLY_SITE_GRANT_COMMAND"), "");
  });

  test("azd prints the admin commands after provisioning, only when there are any", () => {
    const azureYaml = readFileSync(join(REPO_ROOT, "azure.yaml"), "utf8");
    const hook = azureYaml.split(/^hooks:\s*$/m)[1] ?? "";
    assert.match(hook, /^ {2}postprovision:\s*$/m);
    for (const name of ["APP_ONLY_FEDERATED_CREDENTIAL_COMMAND", "APP_ONLY_SITE_GRANT_COMMAND"]) assert.ok(hook.includes(`$${name}`), `the hook prints ${name}`);
    assert.match(hook, /\[ -n "\$APP_ONLY_FEDERATED_CREDENTIAL_COMMAND" \]/);
  });
});
