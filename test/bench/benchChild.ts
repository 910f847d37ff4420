import { randomFillSync } from "node:crypto";
import { performance } from "node:perf_hooks";
import { BlobServiceClient, type BlobClient } from "@azure/storage-blob";
import { QuickXorHash } from "../../functions/onedrive/quickXorHash";
import type { BenchMode, ChildResult, HashArgs, PipeArgs, PutArgs, ReadArgs, SmallLoopArgs } from "./benchProtocol";
import { ownPeakRssKiB } from "./ownPeakRss";
import { createFolder, createUploadSession, putFragment, readRangeInto, readWholeBlob, simplePut } from "./minimalTransfer";

/**
 * One baseline measurement per process (`node benchChild.js <mode> <json args>`), so each figure gets its own peak
 * RSS and CPU time and no measurement warms up the next. Prints exactly one JSON line (ChildResult) on stdout.
 */

type Work = Pick<ChildResult, "bytes" | "files"> & Partial<ChildResult>;

function blobClientFor(args: { connectionString: string; container: string; blob: string }): BlobClient {
  return BlobServiceClient.fromConnectionString(args.connectionString).getContainerClient(args.container).getBlobClient(args.blob);
}

async function blobSize(blob: BlobClient): Promise<number> {
  return (await blob.getProperties()).contentLength ?? 0;
}

async function runRead(args: ReadArgs): Promise<Work> {
  const blob = blobClientFor(args);
  const size = await blobSize(blob);
  const buffer = Buffer.allocUnsafe(args.fragmentBytes);
  for (let offset = 0; offset < size; offset += args.fragmentBytes) {
    await readRangeInto(blob, offset, Math.min(args.fragmentBytes, size - offset), buffer);
  }
  return { bytes: size, files: 1 };
}

async function runPut(args: PutArgs): Promise<Work> {
  const fragment = randomFillSync(Buffer.allocUnsafe(args.fragmentBytes));
  const uploadUrl = await createUploadSession(args.graphEndpoint, args.accessToken, args.name);
  for (let offset = 0; offset < args.totalBytes; offset += args.fragmentBytes) {
    const length = Math.min(args.fragmentBytes, args.totalBytes - offset);
    await putFragment(uploadUrl, offset, fragment.subarray(0, length), args.totalBytes);
  }
  return { bytes: args.totalBytes, files: 1 };
}

/** Reads fragment N+1 while fragment N is PUT, from two alternating buffers. Nothing else. */
async function runPipe(args: PipeArgs): Promise<Work> {
  const blob = blobClientFor(args);
  const size = await blobSize(blob);
  const buffers = [Buffer.allocUnsafe(args.fragmentBytes), Buffer.allocUnsafe(args.fragmentBytes)];
  const uploadUrl = await createUploadSession(args.graphEndpoint, args.accessToken, args.name);
  const lengthAt = (offset: number) => Math.min(args.fragmentBytes, size - offset);
  let current = await readRangeInto(blob, 0, lengthAt(0), buffers[0]);
  for (let offset = 0, index = 0; offset < size; index = 1 - index) {
    const nextOffset = offset + current.length;
    const next = nextOffset < size ? readRangeInto(blob, nextOffset, lengthAt(nextOffset), buffers[1 - index]) : undefined;
    await putFragment(uploadUrl, offset, current, size);
    if (next === undefined) break;
    current = await next;
    offset = nextOffset;
  }
  return { bytes: size, files: 1 };
}

/** Lists the container, then `concurrency` workers each download a blob whole and simple-PUT it. */
async function runSmallLoop(args: SmallLoopArgs): Promise<Work> {
  const container = BlobServiceClient.fromConnectionString(args.connectionString).getContainerClient(args.container);
  const names: string[] = [];
  for await (const item of container.listBlobsFlat()) names.push(item.name);
  await createFolder(args.graphEndpoint, args.accessToken, args.folder);
  let nextIndex = 0;
  let bytes = 0;
  const worker = async () => {
    while (nextIndex < names.length) {
      const name = names[nextIndex++];
      const content = await readWholeBlob(container.getBlobClient(name));
      await simplePut(args.graphEndpoint, args.accessToken, `${args.folder}/${name}`, content);
      bytes += content.length;
    }
  };
  await Promise.all(Array.from({ length: args.concurrency }, worker));
  return { bytes, files: names.length };
}

async function runHash(args: HashArgs): Promise<Work> {
  const input = randomFillSync(Buffer.allocUnsafe(args.updateBytes));
  const hash = new QuickXorHash();
  for (let done = 0; done < args.totalBytes; done += args.updateBytes) {
    hash.update(input.subarray(0, Math.min(args.updateBytes, args.totalBytes - done)));
  }
  // The digest is what a caller waits for; computing it keeps the loop's result observable.
  if (hash.digest().length !== 20) throw new Error("QuickXorHash digest is not 20 bytes");
  return { bytes: hash.length, files: 0 };
}

const modes: Record<BenchMode, (args: never) => Promise<Work>> = {
  read: runRead,
  put: runPut,
  pipe: runPipe,
  smallLoop: runSmallLoop,
  hash: runHash,
};

const MEMORY_SAMPLE_MS = 50;

/** Samples process.memoryUsage() while the work runs and keeps each component's highest value. */
function sampleMemory(): () => NonNullable<ChildResult["peakMemoryMiB"]> {
  const peak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    for (const key of Object.keys(peak) as (keyof typeof peak)[]) peak[key] = Math.max(peak[key], usage[key]);
  };
  const timer = setInterval(sample, MEMORY_SAMPLE_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
    const inMiB = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;
    return { rss: inMiB(peak.rss), heapUsed: inMiB(peak.heapUsed), heapTotal: inMiB(peak.heapTotal), external: inMiB(peak.external), arrayBuffers: inMiB(peak.arrayBuffers) };
  };
}

async function main(): Promise<void> {
  const [mode, argsJson] = process.argv.slice(2);
  const run = modes[mode as BenchMode];
  if (run === undefined || argsJson === undefined) {
    throw new Error(`usage: benchChild <${Object.keys(modes).join("|")}> <json args>`);
  }
  const args = JSON.parse(argsJson) as never;
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const memoryPeaks = sampleMemory();
  const work = await run(args);
  const wallMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  const peakMemoryMiB = memoryPeaks();
  const result: ChildResult = {
    ...work,
    wallMs: Math.round(wallMs * 10) / 10,
    cpuUserMs: Math.round(cpu.user / 1000),
    cpuSystemMs: Math.round(cpu.system / 1000),
    maxRssKiB: ownPeakRssKiB(),
    minorPageFaults: process.resourceUsage().minorPageFault,
    peakMemoryMiB,
  };
  // Exit once the line is out: an idle keep-alive socket or SDK timer must not hold the measurement open.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`, () => process.exit(1));
});
