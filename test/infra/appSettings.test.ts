import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import type { Node } from "web-tree-sitter";
import {
  AFTER_TRANSFER_MODES,
  CONFLICT_BEHAVIORS,
  MEMORY_ALLOCATOR_SETTINGS,
  PLATFORM_SETTINGS,
  SETTINGS,
  settingDefinition,
} from "../../functions/config/settingsSchema";
import { BicepEvaluator, UNKNOWN, type Value } from "./bicepEvaluator";
import {
  BicepProject,
  children,
  declarationBody,
  decoratorArguments,
  findDeclaration,
  isExisting,
  property,
  propertyKey,
  objectProperties,
  REPO_ROOT,
  stringLiteral,
  type Declaration,
} from "./bicepModel";

/**
 * The deployed app settings against functions/config/settingsSchema.ts, the one list of what the code reads.
 * Rule: every Bicep app setting is a known name (a SETTINGS name, NAME__suffix for a setting with identity
 * suffixes, or a PLATFORM_SETTINGS name); every SETTINGS entry is either set or listed in NOT_SET_IN_AZURE (and
 * then has a default or is optional); and what the deployment sets by default equals the code's default.
 */
const NOT_SET_IN_AZURE: Readonly<Record<string, string>> = {
  GRAPH_ENDPOINT: "the public-cloud Graph default is right for Azure public cloud",
  GRAPH_ACCESS_TOKEN: "a fixed token for the local emulator and tests; in Azure tokens come from the sign-in cache",
  AUTHORITY_HOST: "the public-cloud login host default is right for Azure public cloud",
  TOKEN_CACHE_FILE: "a local file has no meaning in Azure: the token cache lives in Key Vault",
  CLIENT_CERTIFICATE_NAME: "the template deploys APP_CREDENTIAL=managed-identity; a certificate is an operator's later choice (docs/app-only.md)",
  CLIENT_CERTIFICATE_FILE: "a local PEM file for developer machines only",
};

/** Needed beyond the schema's required ones: without them the deployed app cannot reach its data or vault. */
const ALSO_REQUIRED_IN_AZURE = ["KEY_VAULT_URL", "TRANSFER_QUEUE", "SOURCE_CONTAINER"];

const identitySettingNames = SETTINGS.flatMap((setting) =>
  (setting.identitySuffixes ?? []).map((suffix) => `${setting.name}__${suffix}`),
);
const knownNames = new Set([...SETTINGS.map((setting) => setting.name), ...identitySettingNames, ...PLATFORM_SETTINGS]);
const defaultOf = (name: string): string => {
  const value = settingDefinition(name).defaultValue;
  assert.ok(value !== undefined, `${name} has no default in the schema`);
  return value;
};

function appSettingsResource(project: BicepProject): Declaration {
  const found = project
    .resources("Microsoft.Web/sites/config")
    .filter((resource) => stringLiteral(property(declarationBody(resource), "name")) === "appsettings");
  assert.equal(found.length, 1, "one sites/config 'appsettings' resource holds every app setting");
  return found[0];
}

function appSettingNodes(project: BicepProject): Map<string, Node> {
  const properties = property(declarationBody(appSettingsResource(project)), "properties");
  assert.ok(properties?.type === "object", "appsettings properties is an object literal");
  const nodes = new Map<string, Node>();
  for (const entry of objectProperties(properties)) {
    const name = propertyKey(entry);
    assert.ok(!nodes.has(name), `${name} is set twice`);
    nodes.set(name, children(entry)[1]);
  }
  return nodes;
}

function evaluateSetting(project: BicepProject, evaluator: BicepEvaluator, name: string): Value {
  const node = appSettingNodes(project).get(name);
  assert.ok(node, `${name} is not set`);
  return evaluator.evaluate(appSettingsResource(project).file, node);
}

function allowedValues(project: BicepProject, paramName: string): Value {
  const param = findDeclaration(project.main, paramName);
  assert.ok(param?.kind === "param", `main.bicep has no param ${paramName}`);
  const allowed = decoratorArguments(param, "allowed");
  assert.ok(allowed?.length === 1, `${paramName} has an @allowed list`);
  return new BicepEvaluator(project).evaluate(project.main, allowed[0]);
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("app settings match functions/config/settingsSchema.ts", () => {
  let project: BicepProject;
  let evaluator: BicepEvaluator;
  let names: string[];

  before(async () => {
    project = await BicepProject.load();
    evaluator = new BicepEvaluator(project);
    names = [...appSettingNodes(project).keys()];
  });

  test("every app setting is a name the code or the platform knows", () => {
    assert.deepEqual(names.filter((name) => !knownNames.has(name)), []);
  });

  test("required settings, identity connection settings and platform settings are all set", () => {
    const required = [
      ...SETTINGS.filter((setting) => setting.defaultValue === undefined && !setting.optional).map((setting) => setting.name),
      ...ALSO_REQUIRED_IN_AZURE,
      ...identitySettingNames,
      ...PLATFORM_SETTINGS,
    ];
    assert.ok(required.includes("CLIENT_ID") && required.includes("CLIENT_SECRET"));
    assert.deepEqual(required.filter((name) => !names.includes(name)), []);
  });

  test("every schema setting is set or deliberately left unset (then it has a default or is optional)", () => {
    const isSet = (name: string) => names.includes(name) || names.some((candidate) => candidate.startsWith(`${name}__`));
    const neither = SETTINGS.filter((setting) => !isSet(setting.name) && !(setting.name in NOT_SET_IN_AZURE));
    assert.deepEqual(neither.map((setting) => setting.name), [], "set these in infra/ or add them to NOT_SET_IN_AZURE");
    for (const name of Object.keys(NOT_SET_IN_AZURE)) {
      const definition = settingDefinition(name);
      assert.ok(definition.defaultValue !== undefined || definition.optional, `${name} is left unset but is required`);
      assert.ok(!isSet(name), `${name} is both set and listed in NOT_SET_IN_AZURE`);
    }
  });

  test("the worker gets the allocator settings the bench measured, exactly", () => {
    for (const [name, value] of Object.entries(MEMORY_ALLOCATOR_SETTINGS)) assert.equal(evaluateSetting(project, evaluator, name), value, name);
  });

  test("storage uses identity connections only: no plain connection-string settings", () => {
    for (const setting of SETTINGS.filter((candidate) => candidate.identitySuffixes)) {
      assert.ok(!names.includes(setting.name), `${setting.name} would take precedence over ${setting.name}__*`);
    }
    assert.ok(!names.includes("AzureWebJobsStorage"));
    assert.equal(evaluateSetting(project, evaluator, "SOURCE_STORAGE__credential"), "managedidentity");
    assert.equal(evaluateSetting(project, evaluator, "AzureWebJobsStorage__credential"), "managedidentity");
    const nodes = appSettingNodes(project);
    const clientIdExpression = nodes.get("AZURE_CLIENT_ID")!.text;
    assert.equal(nodes.get("SOURCE_STORAGE__clientId")!.text, clientIdExpression);
    assert.equal(nodes.get("AzureWebJobsStorage__clientId")!.text, clientIdExpression);
    assert.ok(nodes.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING")!.text.includes(`\${${clientIdExpression}}`));
  });

  test("secret settings the deployment sets are Key Vault references, never values", () => {
    const nodes = appSettingNodes(project);
    const secrets = SETTINGS.filter((setting) => setting.secret && nodes.has(setting.name));
    assert.ok(secrets.some((setting) => setting.name === "CLIENT_SECRET"));
    for (const setting of secrets) {
      let node = nodes.get(setting.name)!;
      if (node.type === "ternary_expression") {
        // Only "no secret at all" may stand beside the reference, chosen by the mode (CLIENT_SECRET is delegated
        // only, UPLOAD_URL_SEAL_KEY app only).
        const [condition, whenTrue, whenFalse] = children(node);
        assert.equal(condition.text, "settings.authMode == 'app'", setting.name);
        const branches = [whenTrue, whenFalse];
        assert.equal(branches.filter((branch) => branch.text === "''").length, 1, `${setting.name}: one branch is ''`);
        node = branches.find((branch) => branch.text !== "''")!;
      }
      assert.equal(node.type, "string", `${setting.name} is a string expression`);
      assert.match(node.text, /^'@Microsoft\.KeyVault\(SecretUri=\$\{[\w.]+\}\)'$/, setting.name);
    }
  });

  test("what the deployment sets by default equals the code's default", () => {
    let compared = 0;
    for (const name of names.filter((candidate) => findSetting(candidate)?.defaultValue !== undefined)) {
      if (name === "REDIRECT_URI") continue; // computed from the site's host name; checked below
      if (name === "TENANT") continue; // no default in the template: azd asks for it (infraStructure.test.ts)
      const value = evaluateSetting(project, evaluator, name);
      assert.notEqual(value, UNKNOWN, `${name} does not resolve to a constant; cannot compare with the code`);
      assert.equal(value, defaultOf(name), `${name} deploys a different default than the code has`);
      compared++;
    }
    assert.ok(compared >= 10, `compared ${compared} settings`);
  });

  test("REDIRECT_URI is the callback route on the site's own host name", () => {
    const callbackPath = new URL(defaultOf("REDIRECT_URI").replace("$WEBSITE_HOSTNAME", "host.invalid")).pathname;
    const node = appSettingNodes(project).get("REDIRECT_URI")!;
    assert.equal(node.text, `'https://\${site.properties.defaultHostName}${callbackPath}'`);
  });

  test("choice parameters allow exactly the values the code accepts", () => {
    assert.deepEqual(allowedValues(project, "conflictBehavior"), [...CONFLICT_BEHAVIORS]);
    assert.deepEqual(allowedValues(project, "afterTransfer"), [...AFTER_TRANSFER_MODES]);
  });

  test("container, queue and table parameters reach both the resources and the settings", () => {
    const overridden = new BicepEvaluator(project, {
      sourceContainer: "incoming",
      sourcePrefix: "drop/",
      archiveContainer: "done",
      transferQueue: "work",
      ledgerTable: "ledger",
    });
    assert.equal(evaluateSetting(project, overridden, "SOURCE_CONTAINER"), "incoming");
    assert.equal(evaluateSetting(project, overridden, "SOURCE_PREFIX"), "drop/");
    assert.equal(evaluateSetting(project, overridden, "ARCHIVE_CONTAINER"), "done");
    assert.equal(evaluateSetting(project, overridden, "TRANSFER_QUEUE"), "work");
    assert.equal(evaluateSetting(project, overridden, "LEDGER_TABLE"), "ledger");
    const subscription = eventSubscription(project);
    assert.equal(
      overridden.evaluate(subscription.file, property(declarationBody(subscription), "properties.filter.subjectBeginsWith")!),
      "/blobServices/default/containers/incoming/blobs/drop/",
    );
    assert.deepEqual(createdNames(project, overridden, "queueServices/queues").sort(), ["work", "work-poison"]);
  });

  describe("storage resources and Event Grid use the code's defaults", () => {
    test("containers, queues and table", () => {
      const containers = createdNames(project, evaluator, "blobServices/containers");
      assert.ok(containers.includes(defaultOf("SOURCE_CONTAINER")), containers.map(String).join());
      assert.ok(containers.includes(defaultOf("ARCHIVE_CONTAINER")), containers.map(String).join());
      assert.deepEqual(createdNames(project, evaluator, "queueServices/queues").sort(), [
        "onedrive-transfers",
        "onedrive-transfers-poison",
      ]);
      assert.equal(defaultOf("TRANSFER_QUEUE"), "onedrive-transfers");
      assert.deepEqual(createdNames(project, evaluator, "tableServices/tables"), [defaultOf("LEDGER_TABLE")]);
    });

    test("BlobCreated in the source container and prefix goes to the transfer queue with the topic's identity", () => {
      const subscription = eventSubscription(project);
      const body = declarationBody(subscription);
      const at = (path: string) => {
        const node = property(body, path);
        assert.ok(node, `event subscription has no ${path}`);
        return evaluator.evaluate(subscription.file, node);
      };
      assert.deepEqual(at("properties.filter.includedEventTypes"), ["Microsoft.Storage.BlobCreated"]);
      assert.equal(
        at("properties.filter.subjectBeginsWith"),
        `/blobServices/default/containers/${defaultOf("SOURCE_CONTAINER")}/blobs/${defaultOf("SOURCE_PREFIX")}`,
      );
      assert.equal(property(body, "properties.destination"), undefined, "key-based delivery cannot work without shared keys");
      assert.equal(at("properties.deliveryWithResourceIdentity.identity.type"), "SystemAssigned");
      assert.equal(at("properties.deliveryWithResourceIdentity.destination.endpointType"), "StorageQueue");
      assert.equal(at("properties.deliveryWithResourceIdentity.destination.properties.queueName"), defaultOf("TRANSFER_QUEUE"));

      const topic = project.resources("Microsoft.EventGrid/systemTopics").find((resource) => !isExisting(resource))!;
      assert.equal(evaluator.evaluate(topic.file, property(declarationBody(topic), "identity.type")!), "SystemAssigned");
      assert.equal(
        evaluator.evaluate(topic.file, property(declarationBody(topic), "properties.topicType")!),
        "Microsoft.Storage.StorageAccounts",
      );
    });
  });

  test("binding expressions in the function code name settings the deployment sets", () => {
    const problems = sourceFiles(join(REPO_ROOT, "functions")).flatMap((path) =>
      bindingProblems(readFileSync(path, "utf8"), names).map((problem) => `${path}: ${problem}`),
    );
    assert.deepEqual(problems, []);
  });

  test("the binding check reports a connection or %setting% the deployment lacks", () => {
    const source = `app.storageQueue("worker", { connection: "OTHER_STORAGE", queueName: "%MISSING_QUEUE%", handler });`;
    assert.deepEqual(bindingProblems(source, names), [
      "connection OTHER_STORAGE has no OTHER_STORAGE or OTHER_STORAGE__* app setting",
      "%MISSING_QUEUE% is not an app setting",
    ]);
    const fine = `app.storageQueue("worker", { connection: "SOURCE_STORAGE", queueName: "%TRANSFER_QUEUE%", handler });`;
    assert.deepEqual(bindingProblems(fine, names), []);
  });
});

/**
 * `connection: "X"` reads app setting X or X__*; `%NAME%` in a binding resolves from app settings only (the host
 * knows nothing of the code's defaults), so both must be set by the deployment.
 */
function bindingProblems(source: string, settingNames: readonly string[]): string[] {
  const problems: string[] = [];
  for (const match of source.matchAll(/\bconnection:\s*["'`]([^"'`]+)["'`]/g)) {
    const connection = match[1];
    if (!settingNames.some((name) => name === connection || name.startsWith(`${connection}__`))) {
      problems.push(`connection ${connection} has no ${connection} or ${connection}__* app setting`);
    }
  }
  for (const match of source.matchAll(/["'`]%([A-Za-z0-9_]+)%["'`]/g)) {
    if (!settingNames.includes(match[1])) problems.push(`%${match[1]}% is not an app setting`);
  }
  return problems;
}

function findSetting(name: string) {
  return SETTINGS.find((setting) => setting.name === name);
}

function eventSubscription(project: BicepProject): Declaration {
  const found = project.resources("Microsoft.EventGrid/systemTopics/eventSubscriptions");
  assert.equal(found.length, 1, "one Event Grid subscription");
  return found[0];
}

/** Names of the resources of `Microsoft.Storage/storageAccounts/<childType>` the deployment creates. */
function createdNames(project: BicepProject, evaluator: BicepEvaluator, childType: string): Value[] {
  return project
    .resources(`Microsoft.Storage/storageAccounts/${childType}`)
    .filter((resource) => !isExisting(resource))
    .map((resource) => evaluator.evaluate(resource.file, property(declarationBody(resource), "name")!));
}
