import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import type { Node } from "web-tree-sitter";
import { BicepEvaluator } from "./bicepEvaluator";
import {
  BicepProject,
  children,
  declarationBody,
  declarations,
  declarationTarget,
  decoratorArguments,
  descendants,
  INFRA_DIR,
  isExisting,
  lineOf,
  parameterDefault,
  property,
  REPO_ROOT,
  stringLiteral,
  trailingComment,
  type Declaration,
} from "./bicepModel";

/**
 * Built-in role definition GUIDs pinned to their names (learn.microsoft.com built-in-roles). Some public repos
 * label b86a8fe4… as "Secrets User", so the table, not a comment, decides; a role not listed here fails the test,
 * which keeps assignments to the least-privilege data roles this app was reviewed for.
 */
const ROLE_NAMES_BY_GUID: Readonly<Record<string, string>> = {
  "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
  "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
  "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
  "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a": "Storage Queue Data Message Sender",
  "8a0f0c08-91a1-4084-bc3d-661d67233fed": "Storage Queue Data Message Processor",
  "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
  "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
  "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
  "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
  "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
};

/** Settings Flex Consumption rejects or ignores (functions-app-settings, Flex deprecations). */
const FLEX_FORBIDDEN_SETTINGS = [
  "FUNCTIONS_WORKER_RUNTIME",
  "FUNCTIONS_EXTENSION_VERSION",
  "WEBSITE_RUN_FROM_PACKAGE",
  "WEBSITE_CONTENTSHARE",
  "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
  "SCM_DO_BUILD_DURING_DEPLOYMENT",
  "ENABLE_ORYX_BUILD",
  "WEBSITE_TIME_ZONE",
  "TZ",
];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function literalStrings(node: Node): string[] {
  return descendants(node, "string").flatMap((candidate) => stringLiteral(candidate) ?? []);
}

function onlyResource(project: BicepProject, typeName: string): Declaration {
  const found = project.resources(typeName).filter((resource) => !isExisting(resource));
  assert.equal(found.length, 1, `expected one ${typeName}, found ${found.length}`);
  return found[0];
}

describe("infrastructure structure", () => {
  let project: BicepProject;
  let evaluator: BicepEvaluator;
  const valueOf = (resource: Declaration, path: string, options?: { ignoreCase?: boolean }) => {
    const node = property(declarationBody(resource), path, options);
    assert.ok(node, `${lineOf(resource.file, resource.node)}: ${resource.name} has no ${path}`);
    return evaluator.evaluate(resource.file, node);
  };

  before(async () => {
    project = await BicepProject.load();
    evaluator = new BicepEvaluator(project);
  });

  describe("main.parameters.json", () => {
    const parameterFile = JSON.parse(readFileSync(join(INFRA_DIR, "main.parameters.json"), "utf8")) as {
      parameters: Record<string, { value: unknown }>;
    };
    const mapped = parameterFile.parameters;

    test("every main.bicep parameter without a default is mapped", () => {
      const required = declarations(project.main, "param").filter((param) => !parameterDefault(param));
      assert.ok(required.length > 0);
      const unmapped = required.map((param) => param.name).filter((name) => !(name in mapped));
      assert.deepEqual(unmapped, [], "azd cannot supply these: add them to infra/main.parameters.json");
    });

    test("every mapped parameter exists in main.bicep (ARM rejects unknown parameters)", () => {
      const declared = new Set(declarations(project.main, "param").map((param) => param.name));
      assert.deepEqual(Object.keys(mapped).filter((name) => !declared.has(name)), []);
    });

    test("azd's own values feed the environment, region and deploying principal", () => {
      assert.equal(mapped.environmentName?.value, "${AZURE_ENV_NAME}");
      assert.equal(mapped.location?.value, "${AZURE_LOCATION}");
      assert.equal(mapped.principalId?.value, "${AZURE_PRINCIPAL_ID}");
    });

    test("@secure() parameters come from the environment or a prompt, never a literal in git", () => {
      const secure = declarations(project.main, "param").filter((param) => {
        const previous = param.node.previousNamedSibling;
        return previous?.type === "decorators" && /@secure\(\)/.test(previous.text);
      });
      assert.ok(secure.some((param) => param.name === "clientSecret"), "clientSecret is @secure()");
      for (const param of secure) {
        // An empty default only says "not given" (clientSecret is unused with authMode app).
        const fallback = parameterDefault(param);
        assert.ok(fallback === undefined || fallback.text === "''", `${param.name} must not have a default other than ''`);
        assert.match(String(mapped[param.name]?.value), /^\$\{[A-Z0-9_]+\}$/, `${param.name} maps to one variable`);
      }
    });
  });

  describe("modules", () => {
    test("no registry modules (br:, br/public:, ts:) anywhere: they cannot be restored offline", () => {
      for (const file of project.allFiles()) {
        assert.doesNotMatch(file.source, /['"](br|ts)[:/]/, `${file.name} references a registry`);
        for (const module of declarations(file, "module")) {
          assert.match(declarationTarget(module), /^\.{0,2}[\w./-]+\.bicep$/, `${lineOf(file, module.node)}: local path`);
        }
      }
    });

    test("every module path exists and every module file is used exactly once", () => {
      const uses = new Map<string, number>();
      for (const file of project.allFiles()) {
        for (const module of declarations(file, "module")) {
          const target = project.moduleFile(module);
          assert.ok(target, `${lineOf(file, module.node)}: ${declarationTarget(module)} does not exist`);
          uses.set(target.name, (uses.get(target.name) ?? 0) + 1);
        }
      }
      for (const file of project.allFiles().filter((candidate) => candidate !== project.main)) {
        assert.equal(uses.get(file.name), 1, `${file.name} is used ${uses.get(file.name) ?? 0} times`);
      }
    });

    test("module calls pass exactly the parameters the module declares (required ones included)", () => {
      for (const file of project.allFiles()) {
        for (const module of declarations(file, "module")) {
          const target = project.moduleFile(module)!;
          const paramsNode = property(declarationBody(module), "params");
          const passed = new Set(paramsNode ? children(paramsNode).map((entry) => children(entry)[0].text) : []);
          const declared = declarations(target, "param");
          const where = lineOf(file, module.node);
          assert.deepEqual([...passed].filter((name) => !declared.some((param) => param.name === name)), [], `${where}: unknown params`);
          const missing = declared.filter((param) => !parameterDefault(param) && !passed.has(param.name));
          assert.deepEqual(missing.map((param) => param.name), [], `${where}: required params not passed`);
        }
      }
    });

    test("object parameters typed with a user-defined type get exactly that type's keys", () => {
      let checked = 0;
      for (const file of project.allFiles()) {
        for (const module of declarations(file, "module")) {
          const target = project.moduleFile(module)!;
          for (const param of declarations(target, "param")) {
            const typeName = children(param.node)[1]?.text;
            const typeDeclaration = declarations(target, "type").find((candidate) => candidate.name === typeName);
            const passed = property(declarationBody(module), `params.${param.name}`);
            if (!typeDeclaration || passed?.type !== "object") continue;
            const typeBody = children(typeDeclaration.node).at(-1)!;
            const keysOf = (object: Node) =>
              children(object).filter((entry) => entry.type === "object_property").map((entry) => children(entry)[0].text).sort();
            assert.deepEqual(keysOf(passed), keysOf(typeBody), `${lineOf(file, passed)}: ${param.name} keys`);
            checked++;
          }
        }
      }
      assert.ok(checked > 0, "the function app's settings object is checked");
    });
  });

  describe("role assignments", () => {
    test("each role GUID is pinned, named by the comment beside it, and part of the assignment name", () => {
      const assignments = project.resources("Microsoft.Authorization/roleAssignments");
      assert.ok(assignments.length >= 6);
      for (const assignment of assignments) {
        const where = lineOf(assignment.file, assignment.node);
        const roleDefinition = property(declarationBody(assignment), "properties.roleDefinitionId");
        assert.ok(roleDefinition, `${where}: no roleDefinitionId`);
        const guids = literalStrings(roleDefinition).filter((text) => GUID.test(text));
        assert.equal(guids.length, 1, `${where}: roleDefinitionId must hold one literal role GUID`);
        const roleName = ROLE_NAMES_BY_GUID[guids[0]];
        assert.ok(roleName, `${where}: role ${guids[0]} is not in the reviewed table`);
        assert.equal(trailingComment(roleDefinition.parent!), roleName, `${where}: comment must name the role`);
        const nameNode = property(declarationBody(assignment), "name")!;
        assert.ok(literalStrings(nameNode).includes(guids[0]), `${where}: guid() name must include the role GUID`);
        assert.ok(property(declarationBody(assignment), "properties.principalType"), `${where}: principalType`);
      }
    });

    test("each identity gets exactly these roles, each on the narrowest scope Azure takes for it", () => {
      const granted = project.resources("Microsoft.Authorization/roleAssignments").map((assignment) => {
        const body = declarationBody(assignment);
        const guid = literalStrings(property(body, "properties.roleDefinitionId")!).find((text) => GUID.test(text))!;
        const file = assignment.file.name.split("/").at(-1)!.replace(/\.bicep$/, "");
        return `${ROLE_NAMES_BY_GUID[guid]} -> ${property(body, "properties.principalId")!.text} on ${file}:${property(body, "scope")!.text}`;
      });
      const expected = [
        // The host's account holds only the deployment package and AzureWebJobsStorage.
        "Storage Blob Data Owner -> appPrincipalId on hoststorage:account",
        "Storage Queue Data Contributor -> appPrincipalId on hoststorage:account",
        // The data account: the app reaches only what it uses, never the whole account.
        "Storage Blob Data Contributor -> appPrincipalId on storage:sourceContainer",
        "Storage Blob Data Contributor -> appPrincipalId on storage:archiveContainer",
        "Storage Queue Data Contributor -> appPrincipalId on storage:transferQueue",
        "Storage Queue Data Contributor -> appPrincipalId on storage:poisonQueue",
        "Storage Table Data Contributor -> appPrincipalId on storage:ledgerTable",
        // Key Vault: write the token cache, read the client secret, nothing else.
        "Key Vault Secrets Officer -> appPrincipalId on keyvault:tokenCacheSecret",
        "Key Vault Secrets User -> appPrincipalId on keyvault:clientSecretEntry",
        // authMode app instead: read the upload-URL seal key (the delegated ones above are then not deployed).
        "Key Vault Secrets User -> appPrincipalId on keyvault:uploadUrlSealKey",
        "Monitoring Metrics Publisher -> appPrincipalId on monitoring:applicationInsights",
        "Storage Queue Data Message Sender -> systemTopic.identity.principalId on eventgrid:transferQueue",
        "Storage Blob Data Contributor -> userPrincipalId on storage:account",
        "Storage Queue Data Contributor -> userPrincipalId on storage:account",
        "Storage Table Data Contributor -> userPrincipalId on storage:account",
        "Key Vault Secrets Officer -> userPrincipalId on keyvault:tokenCacheSecret",
      ];
      assert.deepEqual([...granted].sort(), [...expected].sort());
    });

    test("the token-cache secret exists before sign-in, is never reset by a redeploy, and is the app's TOKEN_SECRET_NAME", () => {
      const secrets = project.resources("Microsoft.KeyVault/vaults/secrets");
      const tokenCache = secrets.find((secret) => secret.name === "tokenCacheSecret");
      assert.ok(tokenCache, "keyvault.bicep pre-creates the token-cache secret");
      let previous = tokenCache.node.previousNamedSibling;
      while (previous?.type === "comment") previous = previous.previousNamedSibling;
      assert.ok(previous?.type === "decorators" && /@onlyIfNotExists\(\)/.test(previous.text), "a redeploy must not replace a linked cache");
      assert.equal(valueOf(tokenCache, "name"), "onedrive-token-cache");
      // An MSAL cache without accounts: summariseCache reads it as "not linked".
      assert.deepEqual(JSON.parse(String(valueOf(tokenCache, "properties.value"))), {});
      const settings = declarationBody(onlyResource(project, "Microsoft.Web/sites/config"));
      const tokenSecretSetting = property(settings, "properties.TOKEN_SECRET_NAME")!;
      assert.equal(evaluator.evaluate(project.resources("Microsoft.Web/sites/config")[0].file, tokenSecretSetting), "onedrive-token-cache");
    });

    test("the deploying user's Key Vault role is off by default and only granted on request", () => {
      const grant = declarations(project.main, "param").find((param) => param.name === "grantDeployerTokenCacheAccess");
      assert.ok(grant, "main.bicep has the grantDeployerTokenCacheAccess parameter");
      assert.equal(parameterDefault(grant)?.text, "false");
      const userVaultRoles = project
        .resources("Microsoft.Authorization/roleAssignments")
        .filter((assignment) => assignment.file.name.endsWith("keyvault.bicep") && property(declarationBody(assignment), "properties.principalId")!.text === "userPrincipalId");
      assert.ok(userVaultRoles.length > 0);
      for (const assignment of userVaultRoles) {
        const condition = children(assignment.node).find((child) => child.type === "if_statement");
        assert.ok(condition && /\bgrantUserTokenCacheAccess\b/.test(children(condition)[0].text), `${lineOf(assignment.file, assignment.node)}: conditional on the grant`);
      }
    });

    test("every module's appPrincipalId is the one user-assigned identity", () => {
      const passes = declarations(project.main, "module")
        .map((module) => property(declarationBody(module), "params.appPrincipalId"))
        .filter((node): node is Node => node !== undefined);
      assert.ok(passes.length >= 3);
      for (const node of passes) assert.equal(node.text, "identity.outputs.principalId", lineOf(project.main, node));
    });
  });

  describe("no keys, no Flex-forbidden settings", () => {
    test("nothing lists keys, SAS tokens or connection strings", () => {
      for (const file of project.allFiles()) {
        const calls = descendants(file.root, "call_expression").map((call) => call.childForFieldName("function")?.text ?? "");
        assert.deepEqual(calls.filter((name) => /^list/i.test(name)), [], `${file.name} reads keys`);
        assert.doesNotMatch(file.source, /AccountKey=|SharedAccessSignature=/, file.name);
      }
    });

    test("no setting Flex Consumption forbids appears anywhere", () => {
      for (const file of project.allFiles()) {
        const names = [
          ...descendants(file.root, "identifier").map((node) => node.text),
          ...descendants(file.root, "string").flatMap((node) => stringLiteral(node) ?? []),
        ];
        assert.deepEqual(names.filter((name) => FLEX_FORBIDDEN_SETTINGS.includes(name)), [], file.name);
      }
    });
  });

  describe("resource properties", () => {
    test("storage: two GPv2 accounts (host, data), no shared keys, no public blobs, TLS 1.2", () => {
      const accounts = project.resources("Microsoft.Storage/storageAccounts").filter((resource) => !isExisting(resource));
      assert.deepEqual(accounts.map((account) => account.file.name).sort(), ["infra/modules/hoststorage.bicep", "infra/modules/storage.bicep"]);
      for (const account of accounts) {
        assert.equal(valueOf(account, "kind"), "StorageV2");
        assert.equal(valueOf(account, "properties.allowSharedKeyAccess"), false);
        assert.equal(valueOf(account, "properties.allowBlobPublicAccess"), false);
        assert.equal(valueOf(account, "properties.minimumTlsVersion"), "TLS1_2");
      }
    });

    test("the host's storage and the deployment package are in the host account, the data in the other", () => {
      const settings = declarationBody(onlyResource(project, "Microsoft.Web/sites/config"));
      for (const name of ["AzureWebJobsStorage__blobServiceUri", "AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri"]) {
        assert.match(property(settings, `properties.${name}`)!.text, /^hostStorage/, name);
      }
      for (const name of ["SOURCE_STORAGE__blobServiceUri", "SOURCE_STORAGE__queueServiceUri", "SOURCE_STORAGE__tableServiceUri"]) {
        assert.match(property(settings, `properties.${name}`)!.text, /^storage[A-Z]/, name);
      }
      const site = declarationBody(onlyResource(project, "Microsoft.Web/sites"));
      assert.match(property(site, "properties.functionAppConfig.deployment.storage.value")!.text, /\$\{hostStorageBlobEndpoint\}/);
      const functionApp = declarations(project.main, "module").find((module) => module.name === "functionApp")!;
      for (const [param, source] of Object.entries({
        hostStorageBlobEndpoint: "hostStorage.outputs.blobEndpoint",
        hostStorageQueueEndpoint: "hostStorage.outputs.queueEndpoint",
        hostStorageTableEndpoint: "hostStorage.outputs.tableEndpoint",
        deploymentContainerName: "hostStorage.outputs.deploymentContainerName",
        storageBlobEndpoint: "storage.outputs.blobEndpoint",
      })) {
        assert.equal(property(declarationBody(functionApp), `params.${param}`)?.text, source, param);
      }
      const containers = project.resources("Microsoft.Storage/storageAccounts/blobServices/containers");
      assert.equal(containers.find((container) => container.name === "deploymentContainer")?.file.name, "infra/modules/hoststorage.bicep");
    });

    test("source account: blob soft delete on, retention a main.bicep parameter defaulting to 7 days", () => {
      const dataBlobService = project.resources("Microsoft.Storage/storageAccounts/blobServices").find((service) => service.file.name.endsWith("/storage.bicep"));
      assert.ok(dataBlobService);
      assert.equal(valueOf(dataBlobService, "properties.deleteRetentionPolicy.enabled"), true);
      assert.equal(valueOf(dataBlobService, "properties.deleteRetentionPolicy.days"), 7);
      const retention = declarations(project.main, "param").find((param) => param.name === "blobSoftDeleteRetentionDays");
      assert.ok(retention);
      assert.equal(parameterDefault(retention)?.text, "7");
      assert.deepEqual(decoratorArguments(retention, "maxValue")?.map((node) => node.text), ["365"]);
    });

    test("function app: FTP and SCM basic publishing credentials are disabled", () => {
      const policies = project.resources("Microsoft.Web/sites/basicPublishingCredentialsPolicies");
      const allowByName = new Map(policies.map((policy) => [valueOf(policy, "name"), valueOf(policy, "properties.allow")]));
      assert.deepEqual(Object.fromEntries(allowByName), { ftp: false, scm: false });
      for (const policy of policies) assert.equal(property(declarationBody(policy), "parent")?.text, "site");
    });

    test("Key Vault: RBAC authorization and soft delete", () => {
      const vault = onlyResource(project, "Microsoft.KeyVault/vaults");
      assert.equal(valueOf(vault, "properties.enableRbacAuthorization"), true);
      assert.equal(valueOf(vault, "properties.enableSoftDelete"), true);
      const retention = valueOf(vault, "properties.softDeleteRetentionInDays");
      assert.ok(typeof retention === "number" && retention >= 7 && retention <= 90, `retention ${String(retention)}`);
    });

    test("Application Insights: local auth disabled, workspace-based", () => {
      const component = onlyResource(project, "Microsoft.Insights/components");
      assert.equal(valueOf(component, "properties.DisableLocalAuth", { ignoreCase: true }), true);
      assert.ok(property(declarationBody(component), "properties.WorkspaceResourceId", { ignoreCase: true }));
    });

    test("function app: Flex Consumption FC1 on Linux, Node 22, identity-authenticated deployment storage", () => {
      const plan = onlyResource(project, "Microsoft.Web/serverfarms");
      assert.equal(valueOf(plan, "sku.name"), "FC1");
      assert.equal(valueOf(plan, "sku.tier"), "FlexConsumption");
      assert.equal(valueOf(plan, "properties.reserved"), true);
      const site = onlyResource(project, "Microsoft.Web/sites");
      assert.equal(valueOf(site, "kind"), "functionapp,linux");
      assert.equal(valueOf(site, "identity.type"), "UserAssigned");
      assert.equal(valueOf(site, "properties.httpsOnly"), true);
      assert.equal(valueOf(site, "properties.functionAppConfig.runtime.name"), "node");
      assert.equal(valueOf(site, "properties.functionAppConfig.runtime.version"), "22");
      const deployment = "properties.functionAppConfig.deployment.storage";
      assert.equal(valueOf(site, `${deployment}.type`), "blobContainer");
      assert.equal(valueOf(site, `${deployment}.authentication.type`), "UserAssignedIdentity");
      const body = declarationBody(site);
      const identityId = property(body, `${deployment}.authentication.userAssignedIdentityResourceId`)!.text;
      assert.equal(property(body, "properties.keyVaultReferenceIdentity")?.text, identityId, "Key Vault references use the UAMI");
      assert.ok(property(body, "properties.functionAppConfig.scaleAndConcurrency.instanceMemoryMB"));
      assert.ok(property(body, "properties.functionAppConfig.scaleAndConcurrency.maximumInstanceCount"));
    });
  });

  describe("Event Grid subscription waits until the topic's role can have taken effect", () => {
    /** The main.bicep module whose file declares a (non-existing) resource of this type. */
    const moduleDeclaring = (typeName: string): Declaration => {
      const found = declarations(project.main, "module").filter((module) => {
        const file = project.moduleFile(module);
        return file !== undefined && declarations(file, "resource").some(
          (resource) => !isExisting(resource) && declarationTarget(resource).split("@")[0] === typeName,
        );
      });
      assert.equal(found.length, 1, `one module deploys ${typeName}`);
      return found[0];
    };
    /** Modules and resources of main.bicep a declaration names (outputs it reads, dependsOn): ARM waits for those. */
    const directDependencies = (declaration: Declaration): Set<string> => {
      const names = new Set(declarations(project.main).filter((other) => other.kind === "module" || other.kind === "resource").map((other) => other.name));
      return new Set(descendants(declarationBody(declaration), "identifier").map((node) => node.text).filter((name) => names.has(name) && name !== declaration.name));
    };
    const dependsTransitively = (from: Declaration, on: string): boolean => {
      const seen = new Set<string>();
      const pending = [...directDependencies(from)];
      while (pending.length > 0) {
        const name = pending.pop()!;
        if (name === on) return true;
        if (seen.has(name)) continue;
        seen.add(name);
        const next = declarations(project.main).find((candidate) => candidate.name === name);
        if (next && next.kind === "module") pending.push(...directDependencies(next));
      }
      return false;
    };

    test("the subscription is its own module, deployed after the function app", () => {
      const subscriptionModule = moduleDeclaring("Microsoft.EventGrid/systemTopics/eventSubscriptions");
      const appModule = moduleDeclaring("Microsoft.Web/sites");
      const dependsOn = property(declarationBody(subscriptionModule), "dependsOn");
      assert.ok(dependsOn && children(dependsOn).some((item) => item.text === appModule.name), "dependsOn names the function app module");
      assert.ok(dependsTransitively(subscriptionModule, appModule.name));
    });

    test("the topic, its identity and its Message Sender role are created early, not after the function app", () => {
      const topicModule = moduleDeclaring("Microsoft.EventGrid/systemTopics");
      const subscriptionModule = moduleDeclaring("Microsoft.EventGrid/systemTopics/eventSubscriptions");
      assert.notEqual(topicModule.name, subscriptionModule.name, "topic and subscription are in separate modules");
      const topicFile = project.moduleFile(topicModule)!;
      const sender = declarations(topicFile, "resource").filter((resource) => declarationTarget(resource).startsWith("Microsoft.Authorization/roleAssignments@"));
      assert.equal(sender.length, 1, "the topic's role assignment sits beside the topic");
      assert.ok(literalStrings(declarationBody(sender[0])).includes("c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"), "Storage Queue Data Message Sender");
      assert.ok(!dependsTransitively(topicModule, moduleDeclaring("Microsoft.Web/sites").name), "the topic does not wait for the app");
      assert.ok(dependsTransitively(subscriptionModule, topicModule.name), "the subscription uses the topic module's output");
    });

    test("no comment still claims Event Grid does no validation when the subscription is created", () => {
      for (const file of project.allFiles()) {
        for (const comment of descendants(file.root, "comment")) {
          assert.doesNotMatch(comment.text, /no validation handshake, so this deploys together/i, lineOf(file, comment));
        }
      }
      const subscriptionFile = project.moduleFile(moduleDeclaring("Microsoft.EventGrid/systemTopics/eventSubscriptions"))!;
      assert.match(subscriptionFile.source, /aka\.ms\/egmsivalidation/, "the module says which check it waits for");
    });
  });

  describe("cost guards and destination defaults", () => {
    const mainParam = (name: string): Declaration => {
      const found = declarations(project.main, "param").find((param) => param.name === name);
      assert.ok(found, `main.bicep has no param ${name}`);
      return found;
    };
    const decoratorNumber = (declaration: Declaration, decorator: string): number => {
      const args = decoratorArguments(declaration, decorator);
      assert.ok(args?.length === 1, `${declaration.name} has @${decorator}`);
      return Number(args[0].text);
    };
    const defaultOf = (declaration: Declaration) => evaluator.evaluate(declaration.file, parameterDefault(declaration)!);

    test("the sign-in tenant has no default: azd asks for it (with common, EXPECTED_ACCOUNT would be refused)", () => {
      const param = mainParam("signInTenant");
      assert.equal(parameterDefault(param), undefined);
      assert.equal(decoratorNumber(param, "minLength"), 1);
      const mapped = (JSON.parse(readFileSync(join(INFRA_DIR, "main.parameters.json"), "utf8")) as { parameters: Record<string, { value: string }> }).parameters;
      assert.equal(mapped.signInTenant.value, "${ONEDRIVE_TENANT}", "no default in the azd mapping either");
    });

    test("maximumInstanceCount: Flex's own range 1..1000 everywhere, a default at the OneDrive ingress ceiling", () => {
      const param = mainParam("maximumInstanceCount");
      assert.equal(decoratorNumber(param, "minValue"), 1, "Flex Consumption accepts a maximum of 1");
      assert.equal(decoratorNumber(param, "maxValue"), 1000);
      assert.equal(defaultOf(param), 2);
      assert.match(String(decoratorArguments(param, "description")?.[0]?.text), /50 GB an hour/);
      const functionAppFile = project.allFiles().find((file) => file.name === "infra/modules/functionapp.bicep")!;
      const moduleParam = declarations(functionAppFile, "param").find((candidate) => candidate.name === "maximumInstanceCount")!;
      assert.equal(decoratorNumber(moduleParam, "minValue"), 1, "the module accepts what main.bicep allows");
      assert.equal(decoratorNumber(moduleParam, "maxValue"), 1000);
      const site = onlyResource(project, "Microsoft.Web/sites");
      assert.equal(valueOf(site, "properties.functionAppConfig.scaleAndConcurrency.maximumInstanceCount"), 2);
      const overridden = new BicepEvaluator(project, { maximumInstanceCount: 7 });
      const node = property(declarationBody(site), "properties.functionAppConfig.scaleAndConcurrency.maximumInstanceCount")!;
      assert.equal(overridden.evaluate(site.file, node), 7, "the parameter reaches the site");
    });

    test("Log Analytics has a daily cap, a parameter with a modest default, wired into the workspace", () => {
      const param = mainParam("logDailyCapGb");
      assert.equal(defaultOf(param), 1);
      assert.equal(decoratorNumber(param, "minValue"), 1);
      const workspace = onlyResource(project, "Microsoft.OperationalInsights/workspaces");
      assert.equal(valueOf(workspace, "properties.workspaceCapping.dailyQuotaGb"), 1);
      const overridden = new BicepEvaluator(project, { logDailyCapGb: 5 });
      const node = property(declarationBody(workspace), "properties.workspaceCapping.dailyQuotaGb")!;
      assert.equal(overridden.evaluate(workspace.file, node), 5, "the parameter reaches the workspace");
    });

    test("DEST_FOLDER defaults to 'From Azure' in main.bicep and in azd's parameter mapping; '/' is the root", () => {
      const param = mainParam("destFolder");
      assert.equal(defaultOf(param), "From Azure");
      assert.match(String(decoratorArguments(param, "description")?.[0]?.text), /\\'\/\\'/, "the description names '/'");
      const mapped = (JSON.parse(readFileSync(join(INFRA_DIR, "main.parameters.json"), "utf8")) as {
        parameters: Record<string, { value: string }>;
      }).parameters.destFolder.value;
      // azd substitutes an unset or empty variable with the text after '=' (drone/envsubst), so an empty
      // DEST_FOLDER can never reach the app as the drive root.
      assert.equal(mapped, "${DEST_FOLDER=From Azure}");
    });
  });

  describe("azure.yaml", () => {
    const azureYaml = readFileSync(join(REPO_ROOT, "azure.yaml"), "utf8");

    test("one TypeScript function service, built remotely, whose name tags the function app", () => {
      const services = azureYaml.split(/^services:\s*$/m)[1] ?? "";
      const serviceNames = [...services.matchAll(/^ {2}([\w-]+):\s*$/gm)].map((match) => match[1]);
      assert.equal(serviceNames.length, 1, `services: ${serviceNames.join(", ")}`);
      assert.match(services, /^ {4}host: function$/m);
      assert.match(services, /^ {4}language: ts$/m);
      assert.match(services, /^ {4}remoteBuild: true$/m);
      const site = onlyResource(project, "Microsoft.Web/sites");
      const tag = descendants(declarationBody(site), "object_property").find(
        (entry) => stringLiteral(children(entry)[0]) === "azd-service-name",
      );
      assert.ok(tag, "the site carries an azd-service-name tag");
      assert.equal(evaluator.evaluate(site.file, children(tag)[1]), serviceNames[0]);
    });
  });
});
