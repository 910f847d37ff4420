import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { INFRA_DIR } from "./bicepModel";

// Kusto.Language (the parser and binder behind Azure Data Explorer and Log Analytics), built for JavaScript: its
// files put the `Kusto` namespace on globalThis.
require("@kusto/language-service-next/bridge.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.js");

interface KustoDiagnostic {
  Severity: string;
  Code: string;
  Message: string;
  Start: number;
}
interface KustoLanguage {
  Symbols: {
    TableSymbol: { $ctor7: new (name: string, schema: string, description: string | null) => unknown };
    DatabaseSymbol: { ctor: new (name: string, members: unknown[]) => unknown };
  };
  GlobalState: { Default: { WithDatabase(database: unknown): unknown } };
  KustoCode: { ParseAndAnalyze(text: string, globals: unknown): { GetDiagnostics(): { Count: number; getItem(index: number): KustoDiagnostic } } };
}
const kusto = (globalThis as unknown as { Kusto: { Language: KustoLanguage } }).Kusto.Language;

/** Columns every Application Insights table has (learn.microsoft.com: Application Insights telemetry data model). */
const COMMON_COLUMNS =
  "timestamp:datetime, name:string, itemType:string, customDimensions:dynamic, operation_Name:string, operation_Id:string, " +
  "operation_ParentId:string, cloud_RoleName:string, cloud_RoleInstance:string, appId:string, appName:string, iKey:string, " +
  "sdkVersion:string, itemId:string, itemCount:int";

/** The two tables the app writes: its outcome records (customEvents) and its metrics (customMetrics). */
export const APPLICATION_INSIGHTS_TABLES = {
  customEvents: `(${COMMON_COLUMNS}, customMeasurements:dynamic)`,
  customMetrics: `(${COMMON_COLUMNS}, value:real, valueCount:int, valueSum:real, valueMin:real, valueMax:real, valueStdDev:real)`,
} as const;

export type TableName = keyof typeof APPLICATION_INSIGHTS_TABLES;

const globals = kusto.GlobalState.Default.WithDatabase(
  new kusto.Symbols.DatabaseSymbol.ctor(
    "applicationinsights",
    Object.entries(APPLICATION_INSIGHTS_TABLES).map(([name, schema]) => new kusto.Symbols.TableSymbol.$ctor7(name, schema, null)),
  ),
);

/** Syntax and binding errors (unknown tables, columns, functions, wrong argument types), as "offset: code message". */
export function kqlErrors(query: string): string[] {
  const diagnostics = kusto.KustoCode.ParseAndAnalyze(query, globals).GetDiagnostics();
  const errors: string[] = [];
  for (let index = 0; index < diagnostics.Count; index += 1) {
    const diagnostic = diagnostics.getItem(index);
    if (diagnostic.Severity === "Error") errors.push(`${diagnostic.Start}: ${diagnostic.Code} ${diagnostic.Message}`);
  }
  return errors;
}

export interface NamedQuery {
  where: string;
  query: string;
}

export const MONITORING_DIR = join(INFRA_DIR, "monitoring");
export const WORKBOOK_FILE = join(MONITORING_DIR, "transfers.workbook.json");
export const ALERT_QUERY_DIR = join(MONITORING_DIR, "alerts");

export interface WorkbookItem {
  type: number;
  name: string;
  content: { query?: string; version?: string; resourceType?: string; title?: string };
}

export function workbookItems(): WorkbookItem[] {
  return (JSON.parse(readFileSync(WORKBOOK_FILE, "utf8")) as { items: WorkbookItem[] }).items;
}

/** Every query the deployment runs: the workbook's items and the alert rules' .kql files. */
export function deployedQueries(): NamedQuery[] {
  const workbook = workbookItems()
    .filter((item) => item.content.version === "KqlItem/1.0")
    .map((item) => ({ where: `workbook item ${item.name}`, query: item.content.query ?? "" }));
  const alerts = readdirSync(ALERT_QUERY_DIR)
    .filter((name) => name.endsWith(".kql"))
    .sort()
    .map((name) => ({ where: `alert query ${name}`, query: readFileSync(join(ALERT_QUERY_DIR, name), "utf8") }));
  return [...workbook, ...alerts];
}

export interface NamesRead {
  table: TableName;
  /** Values compared with the `name` column (event or metric names). */
  names: string[];
  /** Keys read from customDimensions. */
  dimensions: string[];
}

/**
 * The names a query reads, per table: each stretch of the query from one table reference to the next reads that
 * table. Comments are dropped first so a name mentioned in one is not counted.
 */
export function namesRead(query: string): NamesRead[] {
  const code = query.replace(/\/\/[^\n]*/g, "");
  const tables = [...code.matchAll(/\b(customEvents|customMetrics)\b/g)];
  return tables.map((match, index) => {
    const stretch = code.slice(match.index, tables[index + 1]?.index ?? code.length);
    const names = [
      ...[...stretch.matchAll(/\bname\s*==\s*"([^"]*)"/g)].map((found) => found[1]!),
      ...[...stretch.matchAll(/\bname\s+in\s*\(([^)]*)\)/g)].flatMap((found) => [...found[1]!.matchAll(/"([^"]*)"/g)].map((inner) => inner[1]!)),
    ];
    const dimensions = [
      ...[...stretch.matchAll(/\bcustomDimensions\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((found) => found[1]!),
      ...[...stretch.matchAll(/\bcustomDimensions\[\s*["']([^"']+)["']\s*\]/g)].map((found) => found[1]!),
    ];
    return { table: match[1] as TableName, names, dimensions };
  });
}
