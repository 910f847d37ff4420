import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Cookie, HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { listenHttpsOnLoopback, LoopbackHttpsServer } from "../../emulators/identity/loopbackHttpsServer";

/**
 * Stands in for the Functions host in front of the REAL handlers: node request → HttpRequest, HttpResponseInit →
 * node response (cookies as Set-Cookie). Routes marked "function" demand the key as the host does, in `?code=` or
 * `x-functions-key`. Everything the handlers log goes to `logLines`.
 */
export interface AdaptedRoute {
  route: string;
  authLevel: "function" | "anonymous";
  handler: HttpHandler;
}

export interface FunctionsHttpsAdapter extends LoopbackHttpsServer {
  logLines: string[];
}

export function serializeCookie(cookie: Cookie): string {
  const parts = [`${cookie.name}=${cookie.value}`];
  if (cookie.domain) parts.push(`Domain=${cookie.domain}`);
  if (cookie.path) parts.push(`Path=${cookie.path}`);
  if (cookie.maxAge !== undefined) parts.push(`Max-Age=${cookie.maxAge}`);
  if (cookie.expires !== undefined) parts.push(`Expires=${new Date(cookie.expires).toUTCString()}`);
  if (cookie.secure) parts.push("Secure");
  if (cookie.httpOnly) parts.push("HttpOnly");
  if (cookie.sameSite) parts.push(`SameSite=${cookie.sameSite}`);
  return parts.join("; ");
}

function keyMatches(presented: string | null, functionKey: string): boolean {
  if (!presented) return false;
  const left = Buffer.from(presented);
  const right = Buffer.from(functionKey);
  return left.length === right.length && timingSafeEqual(left, right);
}

export async function serveFunctions(routes: AdaptedRoute[], functionKey: string): Promise<FunctionsHttpsAdapter> {
  const logLines: string[] = [];
  let origin = "";
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", origin);
    const route = routes.find((candidate) => url.pathname === `/api/${candidate.route}`);
    if (!route) return void response.writeHead(404).end();
    if (route.authLevel === "function" && !keyMatches(url.searchParams.get("code") ?? (request.headers["x-functions-key"] as string | undefined) ?? null, functionKey)) {
      return void response.writeHead(401).end();
    }
    const headers = Object.fromEntries(Object.entries(request.headers).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
    const context = new InvocationContext({
      functionName: route.route,
      logHandler: (level, ...args) => logLines.push(`${level}: ${args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" ")}`),
    });
    const result = (await route.handler(new HttpRequest({ method: request.method ?? "GET", url: url.toString(), headers }), context)) as HttpResponseInit;
    const responseHeaders: Record<string, string | string[]> = { ...((result.headers ?? {}) as Record<string, string>) };
    if (result.cookies?.length) responseHeaders["Set-Cookie"] = result.cookies.map(serializeCookie);
    response.writeHead(result.status ?? 200, responseHeaders).end(result.body === undefined ? undefined : String(result.body));
  };
  const server = await listenHttpsOnLoopback((request, response) => {
    handle(request, response).catch((error: Error) => {
      logLines.push(`adapter: ${error.message}`);
      response.writeHead(500).end();
    });
  });
  origin = server.origin;
  return { ...server, logLines };
}
