import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A plain node:http server whose answers a test scripts request by request, for exercising retry and error paths
 * that a faithful emulator would only show by chance. Each request is recorded with its body.
 */

export interface ScriptedRequest {
  method: string;
  /** Path and query exactly as received (still percent-encoded). */
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

export type ScriptedAnswer =
  | { status: number; headers?: Record<string, string>; json?: unknown; text?: string }
  /** Close the connection without answering (a reset or dropped connection). */
  | "drop"
  /** Never answer (until the server closes). */
  | "hang";

export type ScriptedHandler = (request: ScriptedRequest, index: number) => ScriptedAnswer;

export interface ScriptedServer {
  /** "http://127.0.0.1:<port>" */
  origin: string;
  requests: ScriptedRequest[];
  close(): Promise<void>;
}

export async function startScriptedServer(handler: ScriptedHandler | ScriptedAnswer[]): Promise<ScriptedServer> {
  const requests: ScriptedRequest[] = [];
  const sockets = new Set<Socket>();
  const answer: ScriptedHandler = Array.isArray(handler)
    ? (_request, index) => handler[index] ?? { status: 599, text: `script has no answer for request ${index}` }
    : handler;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded: ScriptedRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) };
      const index = requests.length;
      requests.push(recorded);
      const scripted = answer(recorded, index);
      if (scripted === "drop") {
        req.socket.destroy();
        return;
      }
      if (scripted === "hang") return;
      const body = scripted.json !== undefined ? JSON.stringify(scripted.json) : scripted.text ?? "";
      const headers: Record<string, string> = { ...(scripted.json !== undefined ? { "content-type": "application/json" } : {}), ...scripted.headers };
      res.writeHead(scripted.status, headers);
      res.end(body);
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A sleep that returns at once and records what it was asked to wait. */
/**
 * A sleep that returns at once and records the delay, with the clock it moves: waits computed against a deadline
 * (a throttle window's end) see the time a sleep stood for as passed.
 */
export function recordingSleep(): { sleep: (delayMs: number) => Promise<void>; delays: number[]; now: () => number } {
  const delays: number[] = [];
  let slept = 0;
  const startedAt = Date.now();
  return {
    delays,
    now: () => startedAt + slept,
    sleep: (delayMs: number) => {
      delays.push(delayMs);
      slept += delayMs;
      return Promise.resolve();
    },
  };
}
