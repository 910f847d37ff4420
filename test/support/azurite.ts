import { spawn, type ChildProcess } from "node:child_process";
import { after, before } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Azurite's documented well-known development account key (not a secret). */
const DEV_ACCOUNT = "devstoreaccount1";
const DEV_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteInstance {
  connectionString: string;
  blobPort: number;
  queuePort: number;
  tablePort: number;
  /** The Azurite child's process id (the bench reads its CPU time from /proc). */
  pid?: number;
  stop(): Promise<void>;
}

/**
 * Starts the real Azurite (pinned 3.35.0, the last release for Node 20) on ephemeral ports, in memory, and resolves
 * once blob, queue and table services all print their listening address.
 */
export async function startAzurite(options: { inMemory?: boolean; env?: Readonly<Record<string, string>>; nodeArgs?: readonly string[] } = {}): Promise<AzuriteInstance> {
  const azuriteMain = require.resolve("azurite/dist/src/azurite.js");
  const workDirectory = mkdtempSync(join(tmpdir(), "azurite-"));
  const args = [
    ...(options.nodeArgs ?? []),
    azuriteMain,
    "--skipApiVersionCheck",
    "--disableTelemetry",
    "--blobPort", "0", "--queuePort", "0", "--tablePort", "0",
    "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
  ];
  args.push(...(options.inMemory === false ? ["--location", workDirectory] : ["--inMemoryPersistence"]));
  // cwd is a scratch folder so nothing Azurite writes lands in the repository.
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], cwd: workDirectory, env: { ...process.env, ...options.env } });
  const ports: Partial<Record<"Blob" | "Queue" | "Table", number>> = {};
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const match of output.matchAll(/Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/127\.0\.0\.1:(\d+)/g)) {
        ports[match[1] as "Blob" | "Queue" | "Table"] = Number(match[2]);
      }
      if (ports.Blob && ports.Queue && ports.Table) {
        child.stdout?.off("data", onData);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`Azurite exited with code ${code} before listening:\n${output}`)));
  });
  child.stdout?.resume();
  child.stderr?.resume();
  const base = "http://127.0.0.1";
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};` +
    `BlobEndpoint=${base}:${ports.Blob}/${DEV_ACCOUNT};QueueEndpoint=${base}:${ports.Queue}/${DEV_ACCOUNT};` +
    `TableEndpoint=${base}:${ports.Table}/${DEV_ACCOUNT};`;
  return {
    connectionString,
    blobPort: ports.Blob!,
    queuePort: ports.Queue!,
    tablePort: ports.Table!,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(workDirectory, { recursive: true, force: true });
    },
  };
}

export interface SuiteAzurite {
  /** The suite's Azurite (started in `before`). */
  readonly instance: AzuriteInstance;
  /** Closes `resource` after the suite, before Azurite stops. */
  closeAfter<T extends { close(): Promise<void> }>(resource: T): T;
}

/** Call inside describe(): one Azurite for the whole suite, and everything registered closed after it. */
export function azuriteForSuite(): SuiteAzurite {
  let instance: AzuriteInstance | undefined;
  const resources: { close(): Promise<void> }[] = [];
  before(async () => {
    instance = await startAzurite();
  });
  after(async () => {
    for (const resource of resources) await resource.close();
    await instance?.stop();
  });
  return {
    get instance() {
      if (!instance) throw new Error("Azurite is started in before(): use it inside tests");
      return instance;
    },
    closeAfter(resource) {
      resources.push(resource);
      return resource;
    },
  };
}
