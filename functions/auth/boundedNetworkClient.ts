import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node";
import { signalWithin } from "../http/callContext";

/**
 * MSAL's transport with a ceiling per request and the invocation's AbortSignal (callContext): msal-node's own client
 * sets no timeout on token POSTs, so an identity endpoint that accepts the connection and never answers would hold
 * the worker until the host kills it. The body is parsed as JSON, as MSAL's client does.
 */
export class BoundedNetworkClient implements INetworkModule {
  constructor(private readonly timeoutMs: number) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.send<T>(url, "GET", options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>(url, "POST", options);
  }

  private async send<T>(url: string, method: "GET" | "POST", options: NetworkRequestOptions | undefined, timeout?: number): Promise<NetworkResponse<T>> {
    const signal = signalWithin(timeout !== undefined && timeout > 0 ? Math.min(timeout, this.timeoutMs) : this.timeoutMs);
    const response = await fetch(url, { method, headers: options?.headers, body: method === "POST" ? (options?.body ?? "") : undefined, signal });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${method} ${new URL(url).host}${new URL(url).pathname} answered ${response.status} with a body that is not JSON`);
    }
    return { headers, body: body as T, status: response.status };
  }
}
