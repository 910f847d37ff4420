import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
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

const CHROMIUM = "/usr/bin/chromium";

/**
 * The sign-in browser test drives Debian's Chromium (Playwright's own browser download cannot be fetched here).
 * On a fresh Debian machine where we are root, install it, so `npm install && npm test` works as the README says;
 * elsewhere say exactly what is missing.
 */
function ensureChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const canInstall = process.getuid?.() === 0 && existsSync("/usr/bin/apt-get");
  if (!canInstall) {
    console.error(`The sign-in browser test needs Chromium at ${CHROMIUM}: install Debian's package (sudo apt-get install chromium) and run npm test again.`);
    return false;
  }
  console.error(`Chromium is not installed; installing Debian's chromium package for the browser test…`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "chromium"]]) {
    if (spawnSync("apt-get", args, { stdio: "inherit", env }).status !== 0) return false;
  }
  return existsSync(CHROMIUM);
}

async function main(): Promise<void> {
  const certificate = await ensureTestCertificate(DEFAULT_TLS_DIR);
  const compiledTestRoot = join(__dirname, "..");
  const filters = process.argv.slice(2);
  const testFiles = findTestFiles(compiledTestRoot).filter(
    (file) => filters.length === 0 || filters.some((filter) => relative(compiledTestRoot, file).includes(filter)),
  );
  if (testFiles.some((file) => file.includes("browser")) && !ensureChromium()) {
    process.exitCode = 1;
    return;
  }
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
