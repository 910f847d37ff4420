import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Node } from "web-tree-sitter";
import {
  type BicepFile,
  type BicepProject,
  children,
  declarationBody,
  declarations,
  findDeclaration,
  lineOf,
  parameterDefault,
  property,
  propertyKey,
  objectProperties,
  unescapeBicep,
} from "./bicepModel";

/**
 * Evaluates the deploy-time-constant part of Bicep expressions: literals, interpolated strings, params (module
 * params from the calling module's `params`, main.bicep params from their defaults), variables, module outputs,
 * resource names and a few pure functions. Anything known only in Azure (endpoints, ids, keys) is UNKNOWN.
 */

export const UNKNOWN: unique symbol = Symbol("unknown at deploy time");
export type Value = string | number | boolean | null | typeof UNKNOWN | Value[] | { [key: string]: Value };

/** What a deployment evaluating `fail(message)` stops with. */
export class BicepFailure extends Error {
  override readonly name = "BicepFailure";
}

/** Anywhere inside: string({subject: <known only in Azure>}) is just as unknown as the subject. */
function holdsUnknown(value: Value): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(holdsUnknown);
  return value !== null && typeof value === "object" && Object.values(value).some(holdsUnknown);
}

interface Scope {
  file: BicepFile;
  /** How the file was called as a module; absent for main.bicep, whose params take their defaults. */
  call?: { scope: Scope; params: Node | undefined };
}

export class BicepEvaluator {
  /** `mainParameters` stand in for values given at deployment; main.bicep params not listed take their defaults. */
  constructor(
    private readonly project: BicepProject,
    private readonly mainParameters: Readonly<Record<string, Value>> = {},
  ) {}

  /** The scope a file is evaluated in: main.bicep at the root, a module as called by its one caller. */
  scopeOf(file: BicepFile): Scope {
    if (file === this.project.main) return { file };
    const callers = this.project
      .allFiles()
      .flatMap((candidate) => declarations(candidate, "module"))
      .filter((module) => this.project.moduleFile(module) === file);
    if (callers.length !== 1) {
      throw new Error(`${file.name} is used by ${callers.length} module declarations; the evaluator needs exactly one`);
    }
    return this.moduleScope(this.scopeOf(callers[0].file), callers[0].node);
  }

  evaluate(file: BicepFile, node: Node): Value {
    return this.evaluateIn(this.scopeOf(file), node);
  }

  /** A value that must be a plain string at deploy time; throws with the file and line otherwise. */
  evaluateString(file: BicepFile, node: Node | undefined, what: string): string {
    if (!node) throw new Error(`${file.name}: ${what} is missing`);
    const value = this.evaluate(file, node);
    if (typeof value !== "string") throw new Error(`${lineOf(file, node)}: ${what} is not a constant string (${node.text})`);
    return value;
  }

  private moduleScope(callerScope: Scope, moduleNode: Node): Scope {
    const module = declarations(callerScope.file, "module").find((candidate) => candidate.node.equals(moduleNode));
    const file = module && this.project.moduleFile(module);
    if (!module || !file) throw new Error(`${lineOf(callerScope.file, moduleNode)}: module file not found`);
    return { file, call: { scope: callerScope, params: property(declarationBody(module), "params") } };
  }

  private evaluateIn(scope: Scope, node: Node): Value {
    switch (node.type) {
      case "string":
        return this.evaluateStringNode(scope, node);
      case "number":
        return Number(node.text);
      case "boolean":
        return node.text === "true";
      case "null":
        return null;
      case "parenthesized_expression":
        return this.evaluateIn(scope, children(node)[0]);
      case "array":
        return children(node).map((item) => this.evaluateIn(scope, item));
      case "object":
        return Object.fromEntries(objectProperties(node).map((entry) => [propertyKey(entry), this.evaluateProperty(scope, children(entry)[1])]));
      case "identifier":
        return this.evaluateSymbol(scope, node.text);
      case "member_expression":
        return this.evaluateMember(scope, node);
      case "call_expression":
        return this.evaluateCall(scope, node);
      case "ternary_expression": {
        const [condition, whenTrue, whenFalse] = children(node);
        const decided = this.evaluateIn(scope, condition);
        if (typeof decided !== "boolean") return UNKNOWN;
        return this.evaluateIn(scope, decided ? whenTrue : whenFalse);
      }
      case "binary_expression":
        return this.evaluateBinary(scope, node);
      case "unary_expression": {
        const operand = this.evaluateIn(scope, children(node)[0]);
        return node.children[0]?.text === "!" && typeof operand === "boolean" ? !operand : UNKNOWN;
      }
      default:
        return UNKNOWN;
    }
  }

  /**
   * One property of an object literal. A property whose check calls fail() (a value the deployment would refuse) is
   * UNKNOWN here, so reading a sibling property does not depend on it; evaluating that property itself throws.
   */
  private evaluateProperty(scope: Scope, node: Node): Value {
    try {
      return this.evaluateIn(scope, node);
    } catch (error) {
      if (error instanceof BicepFailure) return UNKNOWN;
      throw error;
    }
  }

  /** Comparisons and logic only, enough for the `authMode == 'app'` style conditions and checks the template uses. */
  private evaluateBinary(scope: Scope, node: Node): Value {
    const [left, right] = children(node);
    const operator = node.children.find((child) => !child.isNamed)?.text;
    const a = this.evaluateIn(scope, left);
    // Short-circuit as Bicep does, so `knownFalse && unknownAtDeployTime` is still decided.
    if (operator === "&&" && a === false) return false;
    if (operator === "||" && a === true) return true;
    const b = this.evaluateIn(scope, right);
    if (a === UNKNOWN || b === UNKNOWN) return UNKNOWN;
    switch (operator) {
      case "==":
        return a === b;
      case "!=":
        return a !== b;
      case ">=":
      case ">":
      case "<=":
      case "<":
        if (typeof a !== "number" || typeof b !== "number") return UNKNOWN;
        return operator === ">=" ? a >= b : operator === ">" ? a > b : operator === "<=" ? a <= b : a < b;
      case "&&":
        return typeof a === "boolean" && typeof b === "boolean" ? a && b : UNKNOWN;
      case "||":
        return typeof a === "boolean" && typeof b === "boolean" ? a || b : UNKNOWN;
      default:
        return UNKNOWN;
    }
  }

  private evaluateStringNode(scope: Scope, node: Node): Value {
    if (node.text.startsWith("'''")) return node.text.slice(3, -3).replace(/^\r?\n/, "");
    let text = "";
    for (const part of node.namedChildren) {
      if (part.type === "string_content") text += part.text;
      else if (part.type === "escape_sequence") text += unescapeBicep(part.text);
      else if (part.type === "interpolation") {
        const value = this.evaluateIn(scope, children(part)[0]);
        if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") return UNKNOWN;
        text += String(value);
      } else return UNKNOWN;
    }
    return text;
  }

  private evaluateSymbol(scope: Scope, name: string): Value {
    const declaration = findDeclaration(scope.file, name);
    if (!declaration) return UNKNOWN;
    if (declaration.kind === "var") return this.evaluateIn(scope, children(declaration.node)[1]);
    if (declaration.kind !== "param") return UNKNOWN;
    const passed = scope.call && property(scope.call.params, name);
    if (scope.call && passed) return this.evaluateIn(scope.call.scope, passed);
    if (!scope.call && name in this.mainParameters) return this.mainParameters[name];
    const fallback = parameterDefault(declaration);
    return fallback ? this.evaluateIn(scope, fallback) : UNKNOWN;
  }

  private evaluateMember(scope: Scope, node: Node): Value {
    const object = node.childForFieldName("object");
    const name = node.childForFieldName("property")?.text;
    if (!object || !name) return UNKNOWN;
    // module.outputs.name
    if (object.type === "member_expression" && object.childForFieldName("property")?.text === "outputs") {
      const moduleName = object.childForFieldName("object");
      const module = moduleName?.type === "identifier" ? findDeclaration(scope.file, moduleName.text) : undefined;
      if (module?.kind === "module") {
        const inner = this.moduleScope(scope, module.node);
        const output = declarations(inner.file, "output").find((candidate) => candidate.name === name);
        return output ? this.evaluateIn(inner, children(output.node).at(-1)!) : UNKNOWN;
      }
    }
    // resource.name
    if (object.type === "identifier" && name === "name") {
      const resource = findDeclaration(scope.file, object.text);
      if (resource?.kind === "resource") {
        const nameNode = property(declarationBody(resource), "name");
        return nameNode ? this.evaluateIn(scope, nameNode) : UNKNOWN;
      }
    }
    const value = this.evaluateIn(scope, object);
    if (value && typeof value === "object" && !Array.isArray(value) && name in value) return value[name];
    return UNKNOWN;
  }

  private evaluateCall(scope: Scope, node: Node): Value {
    const name = node.childForFieldName("function")?.text;
    const argumentList = node.childForFieldName("arguments");
    const args = argumentList ? children(argumentList).map((argument) => this.evaluateIn(scope, argument)) : [];
    if (args.some(holdsUnknown)) return UNKNOWN;
    const [first, second] = args;
    switch (name) {
      case "string":
        return typeof first === "object" ? JSON.stringify(first) : String(first);
      case "toLower":
        return typeof first === "string" ? first.toLowerCase() : UNKNOWN;
      case "toUpper":
        return typeof first === "string" ? first.toUpperCase() : UNKNOWN;
      case "take":
        return typeof first === "string" && typeof second === "number" ? first.slice(0, second) : UNKNOWN;
      case "fail":
        // Bicep's fail(): the deployment stops with this message when the expression is evaluated.
        throw new BicepFailure(String(first));
      case "empty":
        return typeof first === "string" || Array.isArray(first) ? first.length === 0 : UNKNOWN;
      case "length":
        return typeof first === "string" || Array.isArray(first) ? first.length : UNKNOWN;
      case "concat":
        return args.every((arg) => typeof arg === "string") ? args.join("") : UNKNOWN;
      case "loadTextContent":
        if (typeof first !== "string") return UNKNOWN;
        return readFileSync(resolve(dirname(scope.file.absolutePath), first), "utf8");
      case "loadJsonContent":
        if (typeof first !== "string") return UNKNOWN;
        return JSON.parse(readFileSync(resolve(dirname(scope.file.absolutePath), first), "utf8")) as Value;
      default:
        return UNKNOWN;
    }
  }
}
