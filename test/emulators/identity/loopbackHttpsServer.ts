import { createServer, Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { loadTestCertificate } from "../../support/testCertificate";

/**
 * An HTTPS server with the shared test certificate on both loopback families at one port, because clients resolve
 * "localhost" to ::1 or 127.0.0.1 depending on the platform (node's fetch, MSAL, Chromium).
 */
export interface LoopbackHttpsServer {
  port: number;
  origin: string;
  close(): Promise<void>;
}

export async function listenHttpsOnLoopback(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<LoopbackHttpsServer> {
  const certificate = loadTestCertificate();
  const servers: Server[] = [];
  const listen = (server: Server, port: number, host: string) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  const first = createServer({ cert: certificate.certPem, key: certificate.keyPem }, handler);
  await listen(first, 0, "127.0.0.1");
  servers.push(first);
  const port = (first.address() as { port: number }).port;
  const second = createServer({ cert: certificate.certPem, key: certificate.keyPem }, handler);
  try {
    await listen(second, port, "::1");
    servers.push(second);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EADDRNOTAVAIL" && code !== "EAFNOSUPPORT" && code !== "EADDRINUSE") throw error;
  }
  return {
    port,
    origin: `https://localhost:${port}`,
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}

export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
