import { createServer, type IncomingMessage } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";

/**
 * An HTTPS (CONNECT) proxy on loopback that tunnels the named authorities ("graph.microsoft.com:443") to local ports
 * and refuses every other one, so a client with a fixed service host (rclone's OneDrive backend has no setting for
 * the Graph host) reaches the emulator through HTTPS_PROXY and never anything off this machine. The tunnel carries
 * TLS end to end: the client talks to the emulator's own certificate.
 */
export interface ConnectProxy {
  /** For HTTPS_PROXY. */
  url: string;
  /** Tunnels opened so far. */
  tunnels(): number;
  /** CONNECT requests to authorities not in the routes, and plain requests, so far. */
  refused(): string[];
  close(): Promise<void>;
}

export async function startConnectProxy(routes: ReadonlyMap<string, { host: string; port: number }>): Promise<ConnectProxy> {
  let tunnels = 0;
  const refused: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    refused.push(`${req.method} ${req.url}`);
    res.writeHead(405, { connection: "close" }).end("only CONNECT is served here\n");
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    const authority = (req.url ?? "").toLowerCase();
    const target = routes.get(authority);
    if (target === undefined) {
      refused.push(`CONNECT ${authority}`);
      client.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n");
      return;
    }
    tunnels += 1;
    const upstream = connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    // Either side going away ends the tunnel; an error is a closed tunnel, which the client sees and reports.
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.once("connect", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels: () => tunnels,
    refused: () => [...refused],
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      return closed;
    },
  };
}
