import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { ensureTestCertificate, DEFAULT_TLS_DIR } from "./testCertificate";

/**
 * `npm test`: makes the emulators' TLS certificate, then runs node's test runner over every compiled *.test.js
 * with NODE_EXTRA_CA_CERTS set, because Node reads that variable only when a process starts.
 * Extra arguments filter test files by substring: `npm test -- ledger`.
 */
function findTestFiles(directory: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(directory)) {
    const fullPath = join(directory, entry);
    if (statSync(fullPath).isDirectory()) found.push(...findTestFiles(fullPath));
    else if (entry.endsWith(".test.js")) found.push(fullPath);
  }
  return found.sort();
}

async function main(): Promise<void> {
  const certificate = await ensureTestCertificate(DEFAULT_TLS_DIR);
  const compiledTestRoot = join(__dirname, "..");
  const filters = process.argv.slice(2);
  const testFiles = findTestFiles(compiledTestRoot).filter(
    (file) => filters.length === 0 || filters.some((filter) => relative(compiledTestRoot, file).includes(filter)),
  );
  if (testFiles.length === 0) {
    console.error(`No test files match ${filters.join(", ")}`);
    process.exitCode = 1;
    return;
  }
  const result = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...testFiles], {
    stdio: "inherit",
    env: { ...process.env, NODE_EXTRA_CA_CERTS: certificate.certPath, TEST_TLS_DIR: DEFAULT_TLS_DIR },
  });
  process.exitCode = result.status ?? 1;
}

void main();
