import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";

/**
 * Every relative link and every repository path named in the user documentation must exist, so a file moved or
 * renamed in the code cannot leave the documentation pointing at nothing.
 */

const REPOSITORY_ROOT = join(__dirname, "..", "..", "..");
const DOCUMENTS = ["README.md", ...markdownFilesUnder("docs"), "test/emulators/onedrive/README.md"];
/** Trees whose files a document may name by path, or by bare file name. */
const SOURCE_TREES = ["functions", "test", "infra", "docs"];
/** Files a document names that the user creates; they are not in the repository. */
const USER_CREATED_FILES = new Set(["local.settings.json"]);

const REPOSITORY_PATH = /^(?:functions|test|infra|docs)\/[\w./-]*$/;
const BARE_FILE_NAME = /^\.?[\w-]+(?:\.[\w-]+)*\.(?:ts|js|json|ya?ml|md|bicep|wat)$/;

function markdownFilesUnder(folder: string): string[] {
  const absolute = join(REPOSITORY_ROOT, folder);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute).filter((name) => name.endsWith(".md")).map((name) => `${folder}/${name}`);
}

function filesIn(folder: string): string[] {
  const absolute = join(REPOSITORY_ROOT, folder);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute, { recursive: true, encoding: "utf8" }).map((path) => join(folder, path));
}

const fileNamesInSourceTrees = new Set(SOURCE_TREES.flatMap(filesIn).map((path) => basename(path)));

/** Fenced code blocks are examples (commands, output, code), not references. */
function withoutFencedBlocks(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, "");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of withoutFencedBlocks(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const slug = match[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** What `markdown`, found at `documentPath` (relative to the repository root), names that does not exist. */
export function brokenReferences(documentPath: string, markdown: string): string[] {
  const problems: string[] = [];
  const documentDirectory = dirname(documentPath);
  const prose = withoutFencedBlocks(markdown);
  const codeSpans = [...prose.matchAll(/(`+)([^`]+?)\1/g)].map((match) => match[2].trim());
  const linkText = prose.replace(/(`+)[^`]+?\1/g, "");

  for (const match of linkText.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const [pathPart, anchor] = target.split("#", 2);
    const targetPath = pathPart === "" ? documentPath : relative(REPOSITORY_ROOT, resolve(REPOSITORY_ROOT, documentDirectory, decodeURIComponent(pathPart)));
    if (targetPath.startsWith("..") || !existsSync(join(REPOSITORY_ROOT, targetPath))) {
      problems.push(`link ${target}: ${targetPath} does not exist`);
      continue;
    }
    if (anchor !== undefined && targetPath.endsWith(".md")) {
      const targetMarkdown = targetPath === documentPath ? markdown : readFileSync(join(REPOSITORY_ROOT, targetPath), "utf8");
      if (!headingAnchors(targetMarkdown).has(anchor)) problems.push(`link ${target}: ${targetPath} has no heading #${anchor}`);
    }
  }

  for (const span of codeSpans) {
    if (REPOSITORY_PATH.test(span)) {
      if (!existsSync(join(REPOSITORY_ROOT, span))) problems.push(`path ${span} does not exist`);
    } else if (BARE_FILE_NAME.test(span)) {
      const found =
        USER_CREATED_FILES.has(span) ||
        existsSync(join(REPOSITORY_ROOT, span)) ||
        existsSync(join(REPOSITORY_ROOT, documentDirectory, span)) ||
        fileNamesInSourceTrees.has(span);
      if (!found) problems.push(`file ${span} is not in the repository`);
    }
  }
  return problems;
}

describe("documentation references", () => {
  for (const document of DOCUMENTS) {
    test(`${document}: every relative link, heading anchor and repository path exists`, () => {
      const absolute = join(REPOSITORY_ROOT, document);
      assert.ok(existsSync(absolute) && statSync(absolute).isFile(), `${document} is missing`);
      assert.deepEqual(brokenReferences(document, readFileSync(absolute, "utf8")), []);
    });
  }

  test("the documentation this test covers includes the README and docs/", () => {
    assert.ok(DOCUMENTS.includes("README.md"));
    assert.ok(DOCUMENTS.some((document) => document.startsWith("docs/")), "no docs/*.md found");
  });

  test("a broken link, a missing anchor, a missing path and an unknown file name are each reported", () => {
    const markdown = [
      "# Title",
      "See [the engine](docs/no-such-page.md), [a section](#no-such-heading), [fine](#title),",
      "[external](https://example.com/missing) and `functions/transfer/noSuchFile.ts`,",
      "`functions/transfer/blobTransfer.ts`, `noSuchModule.ts` and `blobTransfer.ts`.",
      "```sh",
      "cat functions/not/checked/inside/fences.ts [x](nowhere.md)",
      "```",
    ].join("\n");
    assert.deepEqual(brokenReferences("README.md", markdown), [
      "link docs/no-such-page.md: docs/no-such-page.md does not exist",
      "link #no-such-heading: README.md has no heading #no-such-heading",
      "path functions/transfer/noSuchFile.ts does not exist",
      "file noSuchModule.ts is not in the repository",
    ]);
  });

  test("anchors follow GitHub's rules for punctuation and repeated headings", () => {
    const markdown = "# A\n## QuickXorHash (`functions/onedrive/quickXorHash.ts`)\n## Notes\n## Notes\n";
    assert.deepEqual(brokenReferences("README.md", `${markdown}[a](#quickxorhash-functionsonedrivequickxorhashts) [b](#notes-1)`), []);
    assert.deepEqual(brokenReferences("README.md", `${markdown}[c](#notes-2)`), ["link #notes-2: README.md has no heading #notes-2"]);
  });
});
