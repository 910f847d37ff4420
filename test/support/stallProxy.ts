import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { AzuriteInstance } from "./azurite";

/**
 * A reverse proxy in front of one HTTP/1.1 server (an Azurite service, say) that can hold answers on command:
 * a held request either reaches the server, whose whole answer the proxy then keeps, or waits in the proxy
 * without reaching it; either way the client gets no byte of an answer until resume(). Azurite cannot stall by
 * itself, so this is how blob and table stalls are tested against the real Azurite.
 *
 * It is built on node:http at both ends rather than on raw TCP with a framer of its own: Node's HTTP parser
 * (llhttp, the one the Azure SDKs' Node client reads answers with) finds request boundaries on keep-alive
 * connections, chunked bodies, HEAD answers without bodies and 100-continue, so requests keep their boundaries
 * and the client keeps its keep-alive connection as it would to the server itself, with no Connection: close
 * forced on it. Each client connection is served in order, so a held answer also holds any later request on the
 * same connection, as it would on a real stalled connection.
 */

export interface StallRule {
  /** Which requests to hold, by request line ("PUT /devstoreaccount1/c/b.bin HTTP/1.1") and headers; all if absent. */
  match?: (requestLine: string, headers: IncomingHttpHeaders) => boolean;
  /** How many matching requests to hold (default 1). */
  count?: number;
  /** true (default): the request reaches the server and its answer is held. false: the request itself is held. */
  forward?: boolean;
}

export interface StalledRequest {
  requestLine: string;
  /** Whether the request reached the server. */
  forwarded: boolean;
  /** The server's status for a forwarded request (the answer the client never got). */
  upstreamStatus?: number;
}

export interface StallProxy {
  /** "http://127.0.0.1:<port>": use in place of the server's origin. */
  readonly url: string;
  readonly port: number;
  /** The request line of every request the proxy received, in order. */
  readonly requestLines: string[];
  /** Every request held so far, in the order each stall took effect. */
  readonly stalled: StalledRequest[];
  /** Holds the next requests that match (rules are tried in the order given; each ends when its count is used up). */
  stallNext(rule?: StallRule): void;
  /**
   * Resolves once at least `count` requests have been held: a forwarded one once the server's whole answer is in
   * the proxy, a held-back one once its whole body is.
   */
  waitForStalled(count?: number): Promise<StalledRequest[]>;
  /** Lets every held request whose client is still connected go on: answers are sent, held-back requests forwarded. */
  resume(): number;
  /** Resets the client connections of the held requests, as a server-side timeout would. */
  dropStalled(): number;
  /** Closes the proxy and every connection through it. */
  close(): Promise<void>;
}

interface HeldExchange {
  res: ServerResponse;
  release: () => void;
}

interface ActiveRule {
  match?: StallRule["match"];
  remaining: number;
  forward: boolean;
}

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1); each hop sets its own. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"]);

export async function startStallProxy(target: { host?: string; port: number }): Promise<StallProxy> {
  const targetHost = target.host ?? "127.0.0.1";
  const upstreamAgent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const requestLines: string[] = [];
  const stalled: StalledRequest[] = [];
  const rules: ActiveRule[] = [];
  const held: HeldExchange[] = [];
  const waiters: { count: number; resolve: (records: StalledRequest[]) => void }[] = [];

  const noteStalled = (record: StalledRequest, exchange: HeldExchange): void => {
    stalled.push(record);
    held.push(exchange);
    for (const waiter of waiters.filter((candidate) => stalled.length >= candidate.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve([...stalled]);
    }
  };

  const takeRule = (requestLine: string, headers: IncomingHttpHeaders): ActiveRule | undefined => {
    const rule = rules.find((candidate) => candidate.match === undefined || candidate.match(requestLine, headers));
    if (rule === undefined) return undefined;
    rule.remaining -= 1;
    if (rule.remaining === 0) rules.splice(rules.indexOf(rule), 1);
    return rule;
  };

  const forwardHeaders = (rawHeaders: string[]): string[] => {
    const kept: string[] = [];
    for (let index = 0; index < rawHeaders.length; index += 2) {
      if (!HOP_BY_HOP.has(rawHeaders[index].toLowerCase())) kept.push(rawHeaders[index], rawHeaders[index + 1]);
    }
    return kept;
  };

  /** Sends the request on; the answer goes to onAnswer, or the client connection is reset if the server fails. */
  const sendUpstream = (req: IncomingMessage, res: ServerResponse, body: Buffer[] | undefined, onAnswer: (answer: IncomingMessage) => void): void => {
    const upstream = httpRequest({
      host: targetHost,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: forwardHeaders(req.rawHeaders),
      agent: upstreamAgent,
    });
    upstream.on("response", onAnswer);
    upstream.on("error", () => res.socket?.destroy());
    if (body === undefined) {
      req.pipe(upstream);
    } else {
      for (const chunk of body) upstream.write(chunk);
      upstream.end();
    }
  };

  const writeAnswer = (res: ServerResponse, answer: IncomingMessage, body?: Buffer[]): void => {
    if (res.destroyed) {
      answer.resume();
      return;
    }
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardHeaders(answer.rawHeaders));
    if (body === undefined) {
      answer.pipe(res);
    } else {
      for (const chunk of body) res.write(chunk);
      res.end();
    }
  };

  const readAll = async (stream: IncomingMessage): Promise<Buffer[]> => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return chunks;
  };

  const server = createServer((req, res) => {
    const requestLine = `${req.method} ${req.url} HTTP/${req.httpVersion}`;
    requestLines.push(requestLine);
    const rule = takeRule(requestLine, req.headers);
    if (rule === undefined) {
      sendUpstream(req, res, undefined, (answer) => writeAnswer(res, answer));
      return;
    }
    const clientGone = (): boolean => res.destroyed || (res.socket?.destroyed ?? true);
    if (rule.forward) {
      sendUpstream(req, res, undefined, (answer) => {
        void readAll(answer).then(
          (body) =>
            noteStalled({ requestLine, forwarded: true, upstreamStatus: answer.statusCode }, {
              res,
              release: () => (clientGone() ? undefined : writeAnswer(res, answer, body)),
            }),
          () => res.socket?.destroy(),
        );
      });
      return;
    }
    void readAll(req).then(
      (body) =>
        noteStalled({ requestLine, forwarded: false }, {
          res,
          // A client that gave up never had its request delivered: it stays undelivered.
          release: () => (clientGone() ? undefined : sendUpstream(req, res, body, (answer) => writeAnswer(res, answer))),
        }),
      () => res.socket?.destroy(),
    );
  });
  // A held request may wait as long as the test wants: no 408 from Node's request timeout.
  server.requestTimeout = 0;
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("clientError", (_error, socket) => socket.destroy());

  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requestLines,
    stalled,
    stallNext: (rule = {}) => {
      const count = rule.count ?? 1;
      if (!Number.isSafeInteger(count) || count < 1) throw new Error(`stallNext: count must be a whole number >= 1, not ${count}`);
      rules.push({ match: rule.match, remaining: count, forward: rule.forward ?? true });
    },
    waitForStalled: (count = 1) =>
      stalled.length >= count
        ? Promise.resolve([...stalled])
        : new Promise<StalledRequest[]>((resolve) => waiters.push({ count, resolve })),
    resume: () => {
      const released = held.splice(0);
      for (const exchange of released) exchange.release();
      return released.length;
    },
    dropStalled: () => {
      const dropped = held.splice(0);
      for (const exchange of dropped) exchange.res.socket?.destroy();
      return dropped.length;
    },
    close: async () => {
      held.length = 0;
      rules.length = 0;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      upstreamAgent.destroy();
      await closed;
    },
  };
}

/**
 * Azurite's connection string with the chosen services' endpoints through proxies (each proxy in front of that
 * service's port), the others direct.
 */
export function connectionStringThrough(azurite: AzuriteInstance, proxies: { blob?: StallProxy; queue?: StallProxy; table?: StallProxy }): string {
  const endpoint = (service: "Blob" | "Queue" | "Table", proxy: StallProxy | undefined): string => {
    const match = new RegExp(`${service}Endpoint=([^;]+);`).exec(azurite.connectionString);
    if (match === null) throw new Error(`Azurite's connection string has no ${service}Endpoint`);
    if (proxy === undefined) return match[1];
    const direct = new URL(match[1]);
    return `${proxy.url}${direct.pathname}`;
  };
  return azurite.connectionString
    .replace(/BlobEndpoint=[^;]+;/, `BlobEndpoint=${endpoint("Blob", proxies.blob)};`)
    .replace(/QueueEndpoint=[^;]+;/, `QueueEndpoint=${endpoint("Queue", proxies.queue)};`)
    .replace(/TableEndpoint=[^;]+;/, `TableEndpoint=${endpoint("Table", proxies.table)};`);
}
