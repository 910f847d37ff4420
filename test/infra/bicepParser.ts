import { Language, Parser, type Node } from "web-tree-sitter";

/**
 * Loads the tree-sitter Bicep grammar (WASM, no native build) once per process. There is no Bicep compiler that
 * installs offline, so this parser is what stands between a typo in infra/ and a failed `azd up`.
 */
let parserPromise: Promise<Parser> | undefined;

export function loadBicepParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    await Parser.init();
    const language = await Language.load(require.resolve("tree-sitter-bicep/tree-sitter-bicep.wasm"));
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return parserPromise;
}

export interface SyntaxProblem {
  /** `file:line:column`, 1-based, as editors accept it. */
  location: string;
  kind: "ERROR" | "MISSING";
  /** What the parser stopped at or expected, shortened. */
  near: string;
}

export async function parseBicep(source: string): Promise<Node> {
  const parser = await loadBicepParser();
  const tree = parser.parse(source);
  if (!tree) throw new Error("tree-sitter returned no tree (parser has no language or was cancelled)");
  return tree.rootNode;
}

/** Every ERROR and MISSING node, outermost first; a clean file gives an empty list. */
export function findSyntaxProblems(root: Node, fileName: string): SyntaxProblem[] {
  const problems: SyntaxProblem[] = [];
  const visit = (node: Node): void => {
    if (node.isError || node.isMissing) {
      problems.push({
        location: `${fileName}:${node.startPosition.row + 1}:${node.startPosition.column + 1}`,
        kind: node.isMissing ? "MISSING" : "ERROR",
        near: node.isMissing ? `expected ${node.type}` : node.text.split("\n")[0].slice(0, 80),
      });
    }
    for (const child of node.children) visit(child);
  };
  visit(root);
  return problems;
}

export function formatSyntaxProblems(problems: readonly SyntaxProblem[]): string {
  return problems.map((problem) => `${problem.location} ${problem.kind} ${problem.near}`).join("\n");
}
