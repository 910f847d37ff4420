import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { before, describe, test } from "node:test";
import { BicepEvaluator } from "./bicepEvaluator";
import { BicepProject, REPO_ROOT, children, declarationBody, declarations, descendants, findDeclaration, parameterDefault, property, stringLiteral, type Declaration } from "./bicepModel";
import { ALERT_QUERY_DIR, deployedQueries, kqlErrors, namesRead, WORKBOOK_FILE, workbookItems } from "./kustoSchema";
import { METRIC_DIMENSIONS, METRICS, OUTCOME_PROPERTIES, TRANSFER_OUTCOME_EVENT } from "../../functions/telemetry/telemetryNames";

const EVENT_NAMES = new Set([TRANSFER_OUTCOME_EVENT]);
const EVENT_PROPERTIES = new Set<string>(Object.values(OUTCOME_PROPERTIES));
const METRIC_NAMES = new Set<string>(Object.values(METRICS));
const METRIC_DIMENSION_NAMES = new Set<string>(Object.values(METRIC_DIMENSIONS));

describe("the workbook's and the alerts' queries", () => {
  const queries = deployedQueries();

  test("there are queries to check: the workbook's and one per alert rule", () => {
    assert.ok(queries.filter((query) => query.where.startsWith("workbook")).length >= 6);
    assert.deepEqual(
      queries.filter((query) => query.where.startsWith("alert")).map((query) => query.where),
      ["alert query poison-message.kql", "alert query relink-needed.kql", "alert query stalled-transfers.kql"],
    );
  });

  test("the checker itself refuses a wrong table, a wrong column and an unbalanced query", () => {
    assert.ok(kqlErrors("customEvnts | take 1").some((error) => /KS204/.test(error)));
    assert.ok(kqlErrors("customEvents | where nmae == 'x'").some((error) => /KS142/.test(error)));
    assert.ok(kqlErrors("customEvents | where (name == 'x'").length > 0);
    assert.deepEqual(kqlErrors("customMetrics | summarize arg_max(timestamp, value) by name"), []);
  });

  for (const { where, query } of queries) {
    test(`${where}: parses and binds against the Application Insights tables with no error`, () => {
      assert.deepEqual(kqlErrors(query), [], query);
    });

    test(`${where}: reads only event, metric and property names the app writes`, () => {
      const reads = namesRead(query);
      assert.ok(reads.length > 0, "reads customEvents or customMetrics");
      for (const read of reads) {
        assert.ok(read.names.length > 0, `${read.table} is filtered by name`);
        const [knownNames, knownDimensions] = read.table === "customEvents" ? [EVENT_NAMES, EVENT_PROPERTIES] : [METRIC_NAMES, METRIC_DIMENSION_NAMES];
        assert.deepEqual(read.names.filter((name) => !knownNames.has(name)), [], `${read.table} names not in functions/telemetry/telemetryNames.ts`);
        assert.deepEqual(read.dimensions.filter((name) => !knownDimensions.has(name)), [], `${read.table} customDimensions not in telemetryNames.ts`);
      }
    });
  }

  test("the Kusto examples in README.md and docs/operate.md bind and read only names the app writes", () => {
    const examples = ["README.md", "docs/operate.md"].flatMap((file) =>
      [...readFileSync(join(REPO_ROOT, file), "utf8").matchAll(/```kusto\n([\s\S]*?)```/g)].map((match) => ({ file, query: match[1]! })),
    );
    assert.ok(examples.length > 0, "the README shows a query");
    for (const { file, query } of examples) {
      assert.deepEqual(kqlErrors(query), [], `${file}: ${query}`);
      for (const read of namesRead(query)) {
        const [knownNames, knownDimensions] = read.table === "customEvents" ? [EVENT_NAMES, EVENT_PROPERTIES] : [METRIC_NAMES, METRIC_DIMENSION_NAMES];
        assert.deepEqual([...read.names, ...read.dimensions].filter((name) => !knownNames.has(name) && !knownDimensions.has(name)), [], `${file}: ${query}`);
      }
    }
  });

  test("the name extraction sees through both ways of reading a property and ignores comments", () => {
    const reads = namesRead('// customEvents name == "Ignored"\ncustomEvents | where name == "A" | extend x = customDimensions["B"], y = customDimensions.C\n| join (customMetrics | where name in ("M1", "M2")) on $left.x == $right.name');
    assert.deepEqual(reads, [
      { table: "customEvents", names: ["A"], dimensions: ["C", "B"] },
      { table: "customMetrics", names: ["M1", "M2"], dimensions: [] },
    ]);
  });

  test("the workbook covers what the operator asked for, each against the Application Insights component", () => {
    const items = workbookItems();
    const names = items.map((item) => item.name);
    for (const section of ["transfers-per-hour", "failures-by-cause", "throttle-waits", "queue", "slowest-files", "link-health"]) {
      assert.ok(names.includes(section), `workbook has ${section}`);
    }
    for (const item of items.filter((candidate) => candidate.content.version === "KqlItem/1.0")) {
      assert.equal(item.content.resourceType, "microsoft.insights/components", item.name);
      assert.ok(item.content.title, `${item.name} has a title`);
    }
    const metricsShown = new Set(deployedQueries().flatMap(({ query }) => namesRead(query)).filter((read) => read.table === "customMetrics").flatMap((read) => read.names));
    for (const reading of [METRICS.queueDepth, METRICS.oldestQueuedMessageAgeSeconds, METRICS.poisonQueueDepth, METRICS.relinkNeeded, METRICS.pendingBlobs]) {
      assert.ok(metricsShown.has(reading), `${reading} is shown or alerted on`);
    }
  });
});

describe("infra/modules/operations.bicep: the workbook and the optional alerts", () => {
  let project: BicepProject;
  let evaluator: BicepEvaluator;
  let operations: ReturnType<BicepProject["allFiles"]>[number];
  const only = (type: string): Declaration => {
    const found = declarations(operations, "resource").filter((resource) => resource.node.text.includes(`'${type}@`));
    assert.equal(found.length, 1, type);
    return found[0]!;
  };

  const valueNode = (name: string) => {
    const declaration = findDeclaration(operations, name);
    assert.ok(declaration, `operations.bicep declares ${name}`);
    return children(declaration.node).at(-1)!;
  };

  before(async () => {
    project = await BicepProject.load();
    evaluator = new BicepEvaluator(project);
    operations = project.allFiles().find((file) => file.name === "infra/modules/operations.bicep")!;
    assert.ok(operations, "operations.bicep exists");
  });

  test("every loadTextContent names an existing file: the workbook and the three alert queries", () => {
    const loaded = descendants(operations.root, "call_expression")
      .filter((call) => call.childForFieldName("function")?.text === "loadTextContent")
      .map((call) => resolve(dirname(operations.absolutePath), stringLiteral(descendants(call, "string")[0]) ?? ""));
    for (const path of loaded) assert.ok(existsSync(path), path);
    assert.deepEqual(
      loaded.map((path) => path.slice(resolve(ALERT_QUERY_DIR, "..").length + 1)).sort(),
      ["alerts/poison-message.kql", "alerts/relink-needed.kql", "alerts/stalled-transfers.kql", "transfers.workbook.json"],
    );
  });

  test("the workbook is a shared workbook on the component, its resource id put where the file leaves a placeholder", () => {
    const workbook = only("Microsoft.Insights/workbooks");
    assert.equal(evaluator.evaluate(operations, property(declarationBody(workbook), "kind")!), "shared");
    assert.match(property(declarationBody(workbook), "properties.sourceId")!.text, /^applicationInsights\.id$/);
    const definition = findDeclaration(operations, "workbookDefinition")!;
    assert.match(definition.node.text, /replace\(loadTextContent\('\.\.\/monitoring\/transfers\.workbook\.json'\), '__APPLICATION_INSIGHTS_ID__', applicationInsights\.id\)/);
    assert.deepEqual((JSON.parse(readFileSync(WORKBOOK_FILE, "utf8")) as { fallbackResourceIds: string[] }).fallbackResourceIds, ["__APPLICATION_INSIGHTS_ID__"]);
    assert.match(property(declarationBody(workbook), "properties.serializedData")!.text, /^workbookDefinition$/);
  });

  test("each alert rule is a log alert on the component, e-mailing the action group, and exists only when asked for", () => {
    const rules = evaluator.evaluate(operations, valueNode("alertRules")) as Record<string, unknown>[];
    assert.deepEqual(rules.map((rule) => rule.key), ["relink-needed", "poison-message", "stalled-transfers"]);
    for (const rule of rules) {
      assert.equal(rule.query, readFileSync(join(ALERT_QUERY_DIR, `${String(rule.key)}.kql`), "utf8"));
    }
    assert.equal(rules.find((rule) => rule.key === "stalled-transfers")?.windowSize, "PT6H", "the window is stalledTransferHours (default 6)");
    const alerts = only("Microsoft.Insights/scheduledQueryRules");
    assert.match(alerts.node.text, /if \(alertsWanted && rule\.enabled\)/);
    assert.match(findDeclaration(operations, "alertsWanted")!.node.text, /!empty\(alertEmail\)/);
    assert.match(alerts.node.text, /kind: 'LogAlert'/);
    assert.match(alerts.node.text, /scopes: \[\s*applicationInsights\.id\s*\]/);
    assert.match(alerts.node.text, /resourceId\('Microsoft\.Insights\/actionGroups', actionGroupName\)/);
    const group = only("Microsoft.Insights/actionGroups");
    assert.match(group.node.text, /= if \(alertsWanted\)/);
    assert.match(group.node.text, /emailAddress: alertEmail/);
  });

  test("main.bicep: no e-mail by default (workbook only), each alert on once an address is given, N hours bounded", () => {
    const mainParam = (name: string) => declarations(project.main, "param").find((param) => param.name === name)!;
    assert.equal(evaluator.evaluate(project.main, parameterDefault(mainParam("alertEmail"))!), "");
    for (const toggle of ["alertOnRelinkNeeded", "alertOnPoisonMessage", "alertOnStalledTransfers"]) {
      assert.equal(evaluator.evaluate(project.main, parameterDefault(mainParam(toggle))!), true, toggle);
    }
    assert.equal(evaluator.evaluate(project.main, parameterDefault(mainParam("stalledTransferHours"))!), 6);
    const module = declarations(project.main, "module").find((candidate) => candidate.name === "operations")!;
    for (const name of ["alertEmail", "alertOnRelinkNeeded", "alertOnPoisonMessage", "alertOnStalledTransfers", "stalledTransferHours"]) {
      assert.equal(property(declarationBody(module), `params.${name}`)?.text, name, `main passes ${name} through`);
    }
    const overridden = new BicepEvaluator(project, { stalledTransferHours: 12 });
    const rules = overridden.evaluate(operations, valueNode("alertRules")) as Record<string, unknown>[];
    assert.equal(rules.find((rule) => rule.key === "stalled-transfers")?.windowSize, "PT12H", "the parameter reaches the rule");
  });
});
