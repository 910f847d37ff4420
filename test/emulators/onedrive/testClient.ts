import { request } from "node:https";
import type { OneDriveEmulator } from "./types";

/** Plain-fetch helpers for the emulator's own tests (a deliberately thin client, not the product's). */

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests poke at arbitrary JSON
}

export async function toJson(response: Response): Promise<JsonResponse> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) };
}

export async function graph(
  emulator: OneDriveEmulator,
  method: string,
  path: string,
  options: { json?: unknown; body?: Buffer | string; headers?: Record<string, string>; token?: string | null; signal?: AbortSignal } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? emulator.accessToken : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: Buffer | string | undefined = options.body;
  if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  return toJson(await fetch(`${emulator.graphEndpoint}/v1.0${path}`, { method, headers, body, signal: options.signal }));
}

export async function createSession(
  emulator: OneDriveEmulator,
  path: string,
  item: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<string> {
  const response = await graph(emulator, "POST", `/me/drive/root:/${encodePath(path)}:/createUploadSession`, {
    json: { item, ...extra },
  });
  if (response.status !== 200) throw new Error(`createUploadSession ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.uploadUrl as string;
}

export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

export async function putFragment(
  uploadUrl: string,
  bytes: Buffer,
  first: number,
  total: number,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<JsonResponse> {
  const range = `bytes ${first}-${first + bytes.length - 1}/${total}`;
  return toJson(await fetch(uploadUrl, { method: "PUT", headers: { "content-range": range, ...headers }, body: bytes, signal }));
}

/** Sends the whole file in fragments of fragmentBytes; returns every response. */
export async function uploadAll(uploadUrl: string, content: Buffer, fragmentBytes: number): Promise<JsonResponse[]> {
  const responses: JsonResponse[] = [];
  for (let offset = 0; offset < content.length; offset += fragmentBytes) {
    responses.push(await putFragment(uploadUrl, content.subarray(offset, offset + fragmentBytes), offset, content.length));
  }
  return responses;
}

/** A raw HTTPS request, for what fetch will not send (a chosen Content-Length, a chunked body, an early abort). */
export function rawRequest(
  url: string,
  options: { method: string; headers: Record<string, string>; chunks: Buffer[]; abortAfterChunks?: boolean },
): Promise<{ status: number; body: string } | "aborted"> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method, headers: options.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (part: Buffer) => parts.push(part));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8") }));
    });
    req.on("error", (error) => (options.abortAfterChunks ? undefined : reject(error)));
    if (!options.abortAfterChunks) {
      for (const chunk of options.chunks) req.write(chunk);
      req.end();
      return;
    }
    req.on("close", () => resolve("aborted"));
    // Once the bytes are handed to the socket, cut the connection mid-body.
    options.chunks.forEach((chunk, index) => req.write(chunk, () => {
      if (index === options.chunks.length - 1) req.destroy();
    }));
  });
}


export function patternBytes(length: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

export { referenceQuickXorHash } from "../../support/referenceAlgorithms";
