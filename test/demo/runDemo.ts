import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { startOneDriveEmulator } from "../emulators/onedrive";
import { siteFromSpec } from "../emulators/onedrive/tenant";
import { startAzurite } from "../support/azurite";
import { ensureTestCertificate } from "../support/testCertificate";
import { formatBytes } from "../../functions/cli/humanSummary";

/**
 * `npm run demo`: the whole path on the embedded defaults, no Azure subscription needed. Real Azurite holds the
 * blobs, the local OneDrive emulator plays Microsoft Graph, and the real engine runs through the real CLI.
 */
const SAMPLES: { name: string; content: Buffer }[] = [
  { name: "reports/2026-q3-summary.csv", content: Buffer.from("region,revenue\nnorth,1200\nsouth,980\n") },
  { name: "reports/archive/2025/annual #1 (final).txt", content: Buffer.from("A name with spaces, # and parentheses.\n") },
  { name: "media/site-walkthrough.mp4", content: randomBytes(42 * 1024 * 1024 + 12_345) },
  { name: "logs/empty.log", content: Buffer.alloc(0) },
  { name: "notes/ünïcødé-naïve.md", content: Buffer.from("# Unicode names travel too\n") },
];

/** The second leg: a SharePoint document library, reached by an app-only token (no user). */
const FINANCE_SITE = { hostname: "contoso.sharepoint.com", path: "/sites/Finance", displayName: "Finance" };
const LIBRARY_URL = "https://contoso.sharepoint.com/sites/Finance/Shared Documents";
const LIBRARY_DRIVE_ID = "b!finance-documents";
const APP_TOKEN = "demo-app-token";
const LIBRARY_SAMPLES: { name: string; content: Buffer }[] = [
  { name: "invoices/2026-11.csv", content: Buffer.from("invoice,amount\n1001,250\n1002,975\n") },
  { name: "contracts/supplier agreement.pdf", content: randomBytes(3 * 1024 * 1024 + 77) },
];

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const cli = join(__dirname, "..", "..", "functions", "cli", "launch.js");
  const child = spawn(process.execPath, [cli, "transfer", ...args], { stdio: "inherit", env });
  return new Promise((resolve) => child.on("close", (code) => resolve(code ?? 1)));
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const certificate = await ensureTestCertificate();
  process.stdout.write("Starting Azurite (blob storage) and the local OneDrive emulator…\n");
  const azurite = await startAzurite();
  const emulator = await startOneDriveEmulator({
    sites: [FINANCE_SITE],
    drives: [{ id: LIBRARY_DRIVE_ID, siteId: siteFromSpec(FINANCE_SITE).id }],
    principals: (token) => (token === APP_TOKEN ? { kind: "app", appId: "demo-app", tenantId: "demo-tenant", roles: ["Sites.ReadWrite.All"] } : undefined),
  });
  try {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("outbox");
    await container.createIfNotExists();
    process.stdout.write(`\nBlobs dropped into container "outbox":\n`);
    for (const sample of SAMPLES) {
      await container.getBlockBlobClient(sample.name).uploadData(sample.content);
      process.stdout.write(`  ${sample.name.padEnd(45)} ${formatBytes(sample.content.length)}\n`);
    }

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_EXTRA_CA_CERTS: certificate.certPath,
      SOURCE_STORAGE: azurite.connectionString,
      SOURCE_CONTAINER: "outbox",
      DEST_FOLDER: "From Azure",
      GRAPH_ENDPOINT: emulator.graphEndpoint,
      GRAPH_ACCESS_TOKEN: emulator.accessToken,
    };
    process.stdout.write(`\n$ npm run transfer   (DEST_FOLDER="From Azure", 10 MiB fragments)\n`);
    const firstExit = await runCli([], env);

    process.stdout.write(`\nOneDrive now holds:\n`);
    for (const path of emulator.listTree()) {
      const item = emulator.getItem(path.replace(/\/$/, ""));
      const detail = item && !item.isFolder ? `${formatBytes(item.size).padStart(10)}  quickXorHash ${item.quickXorHash ?? "(none)"}` : "";
      process.stdout.write(`  ${path.padEnd(50)} ${detail}\n`);
    }

    process.stdout.write(`\n$ npm run transfer   (again: the ledger knows every blob is done, so nothing is sent)\n`);
    const secondExit = await runCli([], env);
    const library = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("finance-outbox");
    await library.createIfNotExists();
    process.stdout.write(`\nBlobs dropped into container "finance-outbox":\n`);
    for (const sample of LIBRARY_SAMPLES) {
      await library.getBlockBlobClient(sample.name).uploadData(sample.content);
      process.stdout.write(`  ${sample.name.padEnd(45)} ${formatBytes(sample.content.length)}\n`);
    }
    const libraryEnv: NodeJS.ProcessEnv = { ...env, SOURCE_CONTAINER: "finance-outbox", DEST_DRIVE: LIBRARY_URL, GRAPH_ACCESS_TOKEN: APP_TOKEN };
    process.stdout.write(`\n$ npm run transfer   (DEST_DRIVE="${LIBRARY_URL}", an app-only token)\n`);
    const libraryExit = await runCli([], libraryEnv);
    process.stdout.write(`\nThe Finance site's "Documents" library now holds:\n`);
    for (const path of emulator.listTree(LIBRARY_DRIVE_ID)) {
      const item = emulator.getItem(path.replace(/\/$/, ""), LIBRARY_DRIVE_ID);
      const detail = item && !item.isFolder ? `${formatBytes(item.size).padStart(10)}  quickXorHash ${item.quickXorHash ?? "(none)"}` : "";
      process.stdout.write(`  ${path.padEnd(50)} ${detail}\n`);
    }

    process.stdout.write(`\nDemo finished in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (exit codes ${firstExit}, ${secondExit}, ${libraryExit}).\n`);
    process.exitCode = firstExit || secondExit || libraryExit;
  } finally {
    await emulator.close();
    await azurite.stop();
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`Demo failed: ${(error as Error).stack ?? error}\n`);
  process.exitCode = 1;
});
