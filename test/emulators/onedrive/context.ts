import type { DriveStore } from "./driveStore";
import type { LibraryPolicies } from "./libraryPolicies";
import { type Exchange } from "./exchange";
import type { ArmedFault, FaultPlan } from "./faults";
import type { RecordedRequest } from "./types";
import type { ThrottleState } from "./throttling";
import type { SessionRegistry } from "./uploadSessions";
import type { EmulatedDrive, Tenant } from "./tenant";
import type { GraphPrincipal } from "./types";

/**
 * Everything a route handler needs, shared by the Graph and upload origins. `drive` and the fields taken from it
 * (store, sessions, business, rewrites) are the default drive's until a route picks the drive its URL names
 * (withDrive).
 */
export interface EmulatorContext {
  tenant: Tenant;
  drive: EmulatedDrive;
  /** Who the request's bearer token stands for (Graph origin only). */
  principal?: GraphPrincipal;
  principals: (token: string) => GraphPrincipal | undefined;
  store: DriveStore;
  sessions: SessionRegistry;
  faults: FaultPlan;
  throttling: ThrottleState;
  accessToken: string;
  /** A business drive or a document library: SharePoint's rules (one open session per path, stricter names). */
  business: boolean;
  simpleUploadLimitBytes: number;
  storeContent: boolean;
  now: () => number;
  graphEndpoint: string;
  /** See OneDriveEmulatorOptions.jsonBatching. */
  jsonBatching: boolean | "jsonBodiesOnly";
  /** Whether the service rewrites this file at upload (see OneDriveEmulatorOptions.rewriteOnCommit). */
  rewrites: (name: string) => boolean;
  /** See OneDriveEmulatorOptions.tolerateAuthorizationOnUploadUrls; toleratedCount counts what it let through. */
  uploadAuthorization: { tolerate: boolean; toleratedCount: number };
  /** The library's own settings (check-out, required columns, locks, RateLimit metering). */
  library: LibraryPolicies;
  /** The emulator's request log, for requests that arrive without a connection of their own (batch parts). */
  requests: RecordedRequest[];
}

/** The context of a request that addresses `drive`. */
export function withDrive(context: EmulatorContext, drive: EmulatedDrive): EmulatorContext {
  return { ...context, drive, store: drive.store, sessions: drive.sessions, library: drive.library, business: drive.business, rewrites: drive.rewrites };
}

/** The throttle body the doc quotes (section 5). */
export const THROTTLE_BODY = {
  error: {
    code: "activityLimitReached",
    message: "The request has been throttled",
    innerError: { code: "throttledRequest", innerError: { code: "quota" } },
  },
};

export const SESSION_NOT_FOUND_MESSAGE = "The upload session was not found";

/**
 * Answers a request that arrives while its origin is throttled (throttleScope "service"), before it can take a
 * fault: a request the service refused never reached the point where a fault would hit it. True when answered.
 */
export async function answerThrottleWindow(exchange: Exchange, context: EmulatorContext): Promise<boolean> {
  const retryAfter = context.throttling.retryAfterWithinWindow(exchange.origin);
  if (retryAfter === undefined) return false;
  await exchange.sendJson(429, THROTTLE_BODY, { "retry-after": retryAfter });
  return true;
}

/**
 * Applies the faults that act before the request is handled. Returns true when the fault answered the request
 * (throttle, transient 404) or stalled it, so the handler must not act.
 */
export async function answerPreActionFault(exchange: Exchange, context: EmulatorContext, fault: ArmedFault | undefined): Promise<boolean> {
  if (fault === undefined) return false;
  if (fault.kind === "stall") {
    await exchange.stall(fault.readBody ?? true);
    return true;
  }
  if (fault.kind === "stallAfterAction") {
    exchange.withholdAnswer = true;
    return false;
  }
  if (fault.kind === "slowResponse") {
    exchange.extraDelayMs = fault.delayMs ?? 0;
    return false;
  }
  if (fault.kind === "throttle") {
    const headers: Record<string, string> = {};
    if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
    context.throttling.noteFault(exchange.origin, fault.retryAfter);
    await exchange.sendJson(fault.status ?? 429, THROTTLE_BODY, headers);
    return true;
  }
  if (fault.kind === "transient404") {
    const message = exchange.origin === "upload" ? SESSION_NOT_FOUND_MESSAGE : "The resource could not be found.";
    await exchange.sendJson(404, exchange.errorBody("itemNotFound", message));
    return true;
  }
  return false;
}
