import { Agent, request } from "node:https";
import type { BlobClient } from "@azure/storage-blob";

/**
 * The least a transfer can do, written for the bench only: ranged blob reads into a caller's buffer and raw HTTPS
 * PUTs over one keep-alive connection. No retries, hashing, ledger or verification, so the bench can tell what the
 * engine's extra work costs against the same Azurite and emulator.
 */

const keepAliveAgent = new Agent({ keepAlive: true, maxSockets: 16 });

export interface HttpAnswer {
  status: number;
  body: string;
}

/** Sends one request with a fixed-length body (never chunked: the upload host refuses chunked fragments). */
export function httpsSend(method: string, url: string, headers: Record<string, string>, body?: Uint8Array): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method, agent: keepAliveAgent, headers: { ...headers, "Content-Length": String(body?.length ?? 0) } },
      (response) => {
        const parts: Buffer[] = [];
        response.on("data", (chunk: Buffer) => parts.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8") }));
        response.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.length));
  });
}

function expectStatus(answer: HttpAnswer, accepted: number[], what: string): HttpAnswer {
  if (!accepted.includes(answer.status)) {
    throw new Error(`${what} answered HTTP ${answer.status}: ${answer.body.slice(0, 300)}`);
  }
  return answer;
}

/** Bytes [offset, offset+count) of the blob into target[0..count). */
export async function readRangeInto(blob: BlobClient, offset: number, count: number, target: Buffer): Promise<Buffer> {
  const response = await blob.download(offset, count);
  const stream = response.readableStreamBody;
  if (!stream) throw new Error(`download of ${blob.name} returned no body`);
  let filled = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunk.copy(target, filled);
    filled += chunk.length;
  }
  if (filled !== count) throw new Error(`download of ${blob.name} returned ${filled} bytes for a ${count}-byte range`);
  return target.subarray(0, count);
}

export async function readWholeBlob(blob: BlobClient): Promise<Buffer> {
  const response = await blob.download();
  const stream = response.readableStreamBody;
  if (!stream) throw new Error(`download of ${blob.name} returned no body`);
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

function drivePathUrl(graphEndpoint: string, path: string, action: string): string {
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  return `${graphEndpoint}/v1.0/me/drive/root:/${encoded}:/${action}`;
}

export async function createUploadSession(graphEndpoint: string, accessToken: string, path: string): Promise<string> {
  const body = Buffer.from(JSON.stringify({ item: { "@microsoft.graph.conflictBehavior": "replace" } }));
  const answer = await httpsSend(
    "POST",
    drivePathUrl(graphEndpoint, path, "createUploadSession"),
    { Authorization: `Bearer ${accessToken}`, "Content-Type": "application/json" },
    body,
  );
  expectStatus(answer, [200], "createUploadSession");
  return (JSON.parse(answer.body) as { uploadUrl: string }).uploadUrl;
}

/** One fragment; no Authorization header, as the upload host requires. */
export async function putFragment(uploadUrl: string, offset: number, bytes: Uint8Array, totalBytes: number): Promise<number> {
  const answer = await httpsSend("PUT", uploadUrl, { "Content-Range": `bytes ${offset}-${offset + bytes.length - 1}/${totalBytes}` }, bytes);
  return expectStatus(answer, [200, 201, 202], `fragment PUT at ${offset}`).status;
}

export async function createFolder(graphEndpoint: string, accessToken: string, name: string): Promise<void> {
  const body = Buffer.from(JSON.stringify({ name, folder: {}, "@microsoft.graph.conflictBehavior": "replace" }));
  const answer = await httpsSend(
    "POST",
    `${graphEndpoint}/v1.0/me/drive/root/children`,
    { Authorization: `Bearer ${accessToken}`, "Content-Type": "application/json" },
    body,
  );
  expectStatus(answer, [200, 201], `creating folder ${name}`);
}

export async function simplePut(graphEndpoint: string, accessToken: string, path: string, content: Uint8Array): Promise<void> {
  const answer = await httpsSend(
    "PUT",
    drivePathUrl(graphEndpoint, path, "content"),
    { Authorization: `Bearer ${accessToken}`, "Content-Type": "application/octet-stream" },
    content,
  );
  expectStatus(answer, [200, 201], `simple PUT of ${path}`);
}
