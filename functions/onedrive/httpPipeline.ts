import { readFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import {
  createDefaultHttpClient,
  RestError,
  type HttpClient,
  type Pipeline,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import { sendWithinAttemptTimeout } from "../http/attemptTimeout";
import { errorText } from "../shared/errorText";
import { GraphNetworkError, scrubSecrets, type GraphService } from "./graphError";
import { ThrottledError } from "./throttle";

/**
 * Policies and plumbing shared by the Graph pipeline and the upload-URL pipeline.
 */

export const PRODUCT_NAME = "onedrive-connector";

/** Package version, read once; "0.0.0" when package.json is not next to the compiled code. */
export const PRODUCT_VERSION = readPackageVersion();

/**
 * SharePoint prioritises decorated traffic: "NONISV|Company|App/Version"
 * (https://learn.microsoft.com/sharepoint/dev/general-development/how-to-avoid-getting-throttled-or-blocked-in-sharepoint-online).
 */
export function productUserAgent(suffix?: string): string {
  const base = `NONISV|${PRODUCT_NAME}|${PRODUCT_NAME}/${PRODUCT_VERSION}`;
  return suffix ? `${base} ${suffix}` : base;
}

export function userAgentPolicy(userAgent: string): PipelinePolicy {
  return {
    name: "onedriveUserAgent",
    sendRequest(request, next) {
      request.headers.set("User-Agent", userAgent);
      return next(request);
    },
  };
}

/** One client-request-id per logical request, kept across its retries so Microsoft support can follow it. */
export function clientRequestIdPolicy(): PipelinePolicy {
  return {
    name: "onedriveClientRequestId",
    sendRequest(request, next) {
      if (!request.headers.has("client-request-id")) request.headers.set("client-request-id", randomUUID());
      return next(request);
    },
  };
}

/**
 * Per-attempt timeout (the request's `timeout`) that fails as a retryable network error, and the invocation's
 * signal on every attempt (sendWithinAttemptTimeout).
 */
export function requestTimeoutPolicy(): PipelinePolicy {
  return {
    name: "onedriveRequestTimeout",
    sendRequest: (request, next) => sendWithinAttemptTimeout(request, request.timeout, next),
  };
}

/** Upload URLs carry their own credential; a bearer header there may get 401, and must never leak to that host. */
export function noAuthorizationPolicy(): PipelinePolicy {
  return {
    name: "onedriveNoAuthorization",
    sendRequest(request, next) {
      request.headers.delete("Authorization");
      return next(request);
    },
  };
}

export function defaultHttpClient(): HttpClient {
  return createDefaultHttpClient();
}

/**
 * Sends through the pipeline and replaces transport errors with GraphNetworkError: the transport's RestError holds
 * the request (its Authorization header, the full upload URL), which must not travel into logs.
 */
/** Carries an AccessTokenProvider failure through the pipeline unchanged, so callers see the sign-in error itself. */
export class TokenUnavailableError extends Error {
  constructor(readonly reason: unknown) {
    super(errorText(reason));
    this.name = "TokenUnavailableError";
  }
}

export async function sendThroughPipeline(
  pipeline: Pipeline,
  httpClient: HttpClient,
  request: PipelineRequest,
  service: GraphService,
  urlForErrors: string,
): Promise<PipelineResponse> {
  try {
    return await pipeline.sendRequest(httpClient, request);
  } catch (error) {
    if (error instanceof Error && error.name === "AbortError") throw error;
    // The throttle gate's refusal to wait past the deadline is the caller's to act on, not a network failure.
    if (error instanceof ThrottledError) throw error;
    // The token provider's own errors (a relink needed, a vault refusing access) are not network failures.
    if (error instanceof TokenUnavailableError) throw error.reason;
    const code = errorCode(error) ?? RestError.REQUEST_SEND_ERROR;
    const detail = errorText(error);
    throw new GraphNetworkError({ service, method: request.method, url: urlForErrors, code, detail: scrubSecrets(detail) });
  }
}

function errorCode(error: unknown): string | undefined {
  if (error === null || typeof error !== "object") return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && code !== "" ? code : undefined;
}

function readPackageVersion(): string {
  // Compiled to dist/functions/onedrive/, so the package root is three levels up; ts-node style runs are two.
  for (const relative of [["..", "..", ".."], ["..", ".."]]) {
    try {
      const packageJson = JSON.parse(readFileSync(join(__dirname, ...relative, "package.json"), "utf8")) as { name?: string; version?: string };
      if (packageJson.name === PRODUCT_NAME && typeof packageJson.version === "string") return packageJson.version;
    } catch {
      // try the next candidate
    }
  }
  return "0.0.0";
}
