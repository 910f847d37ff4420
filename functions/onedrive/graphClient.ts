import {
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
  type PipelinePolicy,
  type PipelineResponse,
} from "@azure/core-rest-pipeline";
import type { ConflictBehavior } from "../config/settings";
import type { AccessTokenProvider } from "./accessToken";
import { GraphError } from "./graphError";
import { BATCH_UNSUPPORTED_STATUSES, BatchUnsupportedError, MAX_BATCH_REQUESTS } from "./graphBatch";
import type {
  BatchableRequest,
  BatchRequestBody,
  BatchResponseBody,
  BatchSubRequest,
  BatchSubResponse,
  CheckinBody,
  ColumnDefinition,
  CreateFolderBody,
  Drive,
  CreateUploadSessionBody,
  DriveItem,
  PublicationFacet,
  UploadSessionInfo,
} from "./graphTypes";
import {
  clientRequestIdPolicy,
  defaultHttpClient,
  productUserAgent,
  requestTimeoutPolicy,
  sendThroughPipeline,
  TokenUnavailableError,
  userAgentPolicy,
} from "./httpPipeline";
import { checkName, checkOneDrivePath, encodePath } from "./pathRules";
import { defaultSleep, describeResponse, parseRetryAfterMs, retryPipelinePolicies, type RetryOptions } from "./retryPolicy";
import { throttlePolicy, ThrottleGate } from "./throttle";

/**
 * Typed client for the Graph drive calls the transfer engine needs. Every call goes through one pipeline:
 * User-Agent, client-request-id, retries (retryPolicy.ts), a per-attempt timeout, then the bearer token.
 * Upload-URL traffic (fragments, status, cancel) goes through UploadSessionClient, which never sends a token.
 */

export interface GraphClientOptions {
  /** Graph root including the version, e.g. "https://graph.microsoft.com/v1.0" or "https://localhost:1234/v1.0". */
  baseUrl: string;
  tokenProvider: AccessTokenProvider;
  httpClient?: HttpClient;
  /** Retries after the first attempt. Default 7 (8 attempts). */
  maxRetries?: number;
  /** Appended to the decorated User-Agent after a space. */
  userAgentSuffix?: string;
  /** Permit an http:// baseUrl (local test servers only: the token then travels in clear text). */
  allowInsecureConnection?: boolean;
  /** Backoff tuning and the injectable sleep/clock/random for tests. */
  retry?: Omit<RetryOptions, "maxAttempts">;
  /** Per-attempt timeout of a Graph call. Default 120 s. */
  requestTimeoutMs?: number;
  /**
   * Drive addressed by every item call. Default "/me/drive" (delegated sign-in); null leaves it unset until
   * useDrive() names it (a library whose drive id is only known after asking Graph).
   */
  drivePath?: string | null;
  /** Shared with every other client of the Graph API in the process (JSON batches included). */
  throttle?: ThrottleGate;
}

export interface CreateUploadSessionItem {
  conflictBehavior: ConflictBehavior;
  fileSize: number;
  lastModifiedDateTime: string;
}

/** The driveItem properties this product reads (see DriveItem), for a GET that must name them in `$select`. */
const ITEM_PROPERTIES_READ = "id,name,size,eTag,cTag,createdDateTime,lastModifiedDateTime,webUrl,parentReference,file,folder,root,fileSystemInfo";

/** Largest body uploadSmallFile sends; bigger files go through an upload session (what rclone and abraunegg do). */
export const SIMPLE_UPLOAD_MAX_BYTES = 4 * 1024 * 1024;

const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

interface CallOptions {
  json?: unknown;
  binary?: Uint8Array;
  /** Statuses answered with undefined instead of a GraphError (e.g. 404 on a lookup). */
  tolerate?: number[];
  /** false: a request that got no answer is not sent again (it may have taken effect). Default true. */
  retryWithoutAnswer?: boolean;
}

export class GraphClient {
  /** Graph root including the version, without a trailing slash. */
  readonly baseUrl: string;
  private readonly baseOrigin: string;
  private drive: DriveAddress | undefined;
  private readonly pipeline: Pipeline;
  private readonly httpClient: HttpClient;
  private readonly allowInsecureConnection: boolean;
  private readonly requestTimeoutMs: number;
  private readonly retryOptions: Omit<RetryOptions, "maxAttempts">;
  /** Requests that must not be sent again after getting no answer (see CallOptions.retryWithoutAnswer). */
  private readonly notRetriedWithoutAnswer = new WeakSet<object>();
  /** Held closed for every Graph request of the process while the service asks to wait. */
  readonly throttle: ThrottleGate;
  /** Folder path → id; the promise is shared so concurrent transfers into one folder create it once. */
  private readonly folderIds = new Map<string, Promise<ResolvedFolder>>();
  /**
   * Drives (their paths) that answered createUploadSession's fileSystemInfo with a bare 400 and took the same
   * request without it: later sessions there leave the time out at once (it is set by a PATCH after the commit).
   * A property of each drive, so a client moved to another drive (useDrive) asks that drive afresh.
   */
  private readonly drivesRefusingTimesAtCreation = new Set<string>();

  constructor(options: GraphClientOptions) {
    const base = new URL(options.baseUrl);
    if (base.protocol !== "https:" && !(base.protocol === "http:" && options.allowInsecureConnection)) {
      throw new Error(`Graph baseUrl must be https:// (got ${base.protocol}//); http:// needs allowInsecureConnection (local tests only)`);
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.baseOrigin = base.origin;
    const drivePath = options.drivePath === undefined ? "/me/drive" : options.drivePath;
    this.drive = drivePath === null ? undefined : { drivePath: drivePath.replace(/\/+$/, ""), locationPath: "" };
    this.allowInsecureConnection = options.allowInsecureConnection ?? false;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.retryOptions = options.retry ?? {};
    this.httpClient = options.httpClient ?? defaultHttpClient();
    this.pipeline = createEmptyPipeline();
    this.pipeline.addPolicy(userAgentPolicy(productUserAgent(options.userAgentSuffix)));
    this.pipeline.addPolicy(clientRequestIdPolicy());
    const maxAttempts = options.maxRetries === undefined ? undefined : options.maxRetries + 1;
    for (const policy of retryPipelinePolicies({ ...this.retryOptions, maxAttempts, service: "Graph", throttleGateInside: true, notRetriedWithoutAnswer: this.notRetriedWithoutAnswer })) {
      this.pipeline.addPolicy(policy);
    }
    this.throttle = options.throttle ?? new ThrottleGate("Graph", { now: this.retryOptions.now ?? Date.now, sleep: this.retryOptions.sleep ?? defaultSleep });
    this.pipeline.addPolicy(throttlePolicy(this.throttle, describeResponse));
    this.pipeline.addPolicy(requestTimeoutPolicy());
    this.pipeline.addPolicy(graphTokenPolicy(options.tokenProvider, this.baseOrigin, this.allowInsecureConnection));
  }

  /**
   * Points every later item call at this drive. Called once the destination is resolved, before any item call; a
   * different drive forgets the folder ids learnt on the old one.
   */
  useDrive(address: DriveAddress): void {
    const drivePath = address.drivePath.replace(/\/+$/, "");
    if (this.drive?.drivePath !== drivePath) this.folderIds.clear();
    this.drive = { drivePath, locationPath: address.locationPath };
  }

  /** The drive root's decoded server-relative path ("/sites/Finance/Shared Documents"); "" on a personal drive. */
  get driveLocationPath(): string {
    return this.drive?.locationPath ?? "";
  }

  /** A GET of a Graph resource outside the drive (sites, drives by id), answered as JSON; a failure is a GraphError. */
  async getResource<T>(path: string): Promise<T> {
    return this.required(await this.call<T>("GET", path));
  }

  async getRoot(): Promise<DriveItem> {
    return this.required(await this.call<DriveItem>("GET", `${this.drivePath()}/root`));
  }

  /** "a/b/c.txt" relative to the drive root; undefined when nothing is there. "" is the root. */
  async getItemByPath(path: string): Promise<DriveItem | undefined> {
    if (path === "") return this.getRoot();
    return this.call<DriveItem>("GET", `${this.drivePath()}/root:/${encodePath(path)}`, { tolerate: [404] });
  }

  /**
   * withPublication: also the file's publicationFacet (checked out or published), which Graph returns only when
   * `$select` names it; every other field this product reads is then named too.
   */
  async getItem(itemId: string, options: { withPublication?: boolean } = {}): Promise<DriveItem> {
    const query = options.withPublication ? `?$select=${ITEM_PROPERTIES_READ},publication` : "";
    return this.required(await this.call<DriveItem>("GET", `${this.itemPath(itemId)}${query}`));
  }

  /**
   * Whether the file is checked out or published (its publicationFacet), which Graph returns only when asked for by
   * `$select`; undefined where the drive does not say (a personal drive).
   */
  async getPublication(itemId: string): Promise<PublicationFacet | undefined> {
    return this.required(await this.call<DriveItem>("GET", `${this.itemPath(itemId)}?$select=id,publication`)).publication;
  }

  /**
   * Id of the folder at `path` ("" = the root), creating each missing segment explicitly (the service does not
   * create parents implicitly). Ids are cached per client; concurrent callers share one in-flight lookup.
   */
  async ensureFolderPath(path: string): Promise<string> {
    const trimmed = path.replace(/^\/+|\/+$/g, "");
    if (trimmed !== "") {
      const violation = checkOneDrivePath(trimmed, this.driveLocationPath);
      if (violation) throw new Error(`Cannot create OneDrive folder '${trimmed}': ${violation}`);
    }
    const segments = trimmed === "" ? [] : trimmed.split("/");
    return (await this.resolveFolder(segments, segments.length)).id;
  }

  /**
   * Parent-id form with every field explicit: the service's real default for a missing conflictBehavior is
   * replace (not the documented fail), and fileSize lets it refuse an over-quota file (507) before any bytes.
   * The time goes in too, since a PATCH afterwards makes a second version on business drives; a drive that refuses
   * it (400 on a body without it being accepted) gets sessions without it from then on; the caller then sets the
   * time after the commit (the stored time differs from the blob's).
   */
  async createUploadSession(parentId: string, name: string, item: CreateUploadSessionItem): Promise<UploadSessionInfo> {
    assertName(name);
    if (!Number.isSafeInteger(item.fileSize) || item.fileSize <= 0) {
      throw new RangeError(`createUploadSession needs fileSize > 0 (got ${item.fileSize}); upload sessions cannot carry empty files, use uploadSmallFile`);
    }
    const withoutTime: CreateUploadSessionBody = {
      item: { "@microsoft.graph.conflictBehavior": item.conflictBehavior, name, fileSize: item.fileSize },
    };
    const path = `${this.itemPath(parentId)}:/${encodeURIComponent(name)}:/createUploadSession`;
    let session: UploadSessionInfo | undefined;
    const drivePath = this.drivePath();
    if (!this.drivesRefusingTimesAtCreation.has(drivePath)) {
      const withTime: CreateUploadSessionBody = { item: { ...withoutTime.item, fileSystemInfo: { lastModifiedDateTime: item.lastModifiedDateTime } } };
      try {
        session = this.required(await this.call<UploadSessionInfo>("POST", path, { json: withTime }));
      } catch (error) {
        if (!isBareInvalidRequest(error)) throw error;
        session = await this.sessionWithoutTime(path, withoutTime, error);
        // Only now is the 400 known to be the time refusal: the same request without the time was taken.
        this.drivesRefusingTimesAtCreation.add(drivePath);
      }
    } else {
      session = this.required(await this.call<UploadSessionInfo>("POST", path, { json: withoutTime }));
    }
    if (typeof session.uploadUrl !== "string" || session.uploadUrl === "") {
      throw new Error(`Graph createUploadSession for '${name}' answered without an uploadUrl`);
    }
    return session;
  }

  /**
   * The session asked for again without the time, after a bare 400. Refused again with a bare 400, the first
   * refusal was not about the time, and that refusal is the error; any other answer (507, 409…) is its own error.
   */
  private async sessionWithoutTime(path: string, withoutTime: CreateUploadSessionBody, firstRefusal: unknown): Promise<UploadSessionInfo> {
    try {
      return this.required(await this.call<UploadSessionInfo>("POST", path, { json: withoutTime }));
    } catch (error) {
      throw isBareInvalidRequest(error) ? firstRefusal : error;
    }
  }

  /** The drive's quota as Graph reports it (GET {drive}); undefined fields when the drive does not say. */
  async getDriveQuota(): Promise<NonNullable<Drive["quota"]>> {
    return this.required(await this.call<Drive>("GET", this.drivePath())).quota ?? {};
  }

  /**
   * Checks a checked-out file in, publishing it to everyone with read access. Not sent again after a lost answer:
   * a second check-in of a published file is refused, so the caller reads the item back instead.
   */
  async checkin(itemId: string, comment: string): Promise<void> {
    const body: CheckinBody = { comment };
    await this.call<unknown>("POST", `${this.itemPath(itemId)}/checkin`, { json: body, retryWithoutAnswer: false });
  }

  /** The library's columns (GET {drive}/list/columns); only SharePoint-backed drives have them. */
  async listColumns(): Promise<ColumnDefinition[]> {
    const page = this.required(await this.call<{ value?: ColumnDefinition[] }>("GET", `${this.drivePath()}/list/columns`));
    return page.value ?? [];
  }

  /** One-request upload (PUT …/content), for empty and small files; the only way to create a 0-byte file. */
  async uploadSmallFile(parentId: string, name: string, content: Uint8Array, options: { conflictBehavior: ConflictBehavior }): Promise<DriveItem> {
    // Under rename or fail, a PUT whose answer was lost may have stored the file: sent again it would make a second
    // copy or a false conflict, so it is not retried without an answer (the caller finds what OneDrive holds).
    const retryWithoutAnswer = options.conflictBehavior === "replace";
    return this.required(await this.call<DriveItem>("PUT", this.simpleUploadPath(parentId, name, content, options.conflictBehavior), { binary: content, retryWithoutAnswer }));
  }

  async setLastModified(itemId: string, lastModifiedDateTime: string): Promise<DriveItem> {
    return this.required(await this.call<DriveItem>("PATCH", this.itemPath(itemId), { json: lastModifiedBody(lastModifiedDateTime) }));
  }

  /** uploadSmallFile as one request of a JSON batch (the bytes travel as base64). */
  smallFileBatchRequest(parentId: string, name: string, content: Uint8Array, options: { conflictBehavior: ConflictBehavior }): BatchableRequest {
    const url = this.simpleUploadPath(parentId, name, content, options.conflictBehavior);
    const body = Buffer.from(content.buffer, content.byteOffset, content.length).toString("base64");
    return { method: "PUT", url, headers: { "Content-Type": "application/octet-stream" }, body };
  }

  /** setLastModified as one request of a JSON batch. */
  lastModifiedBatchRequest(itemId: string, lastModifiedDateTime: string): BatchableRequest {
    return { method: "PATCH", url: this.itemPath(itemId), headers: { "Content-Type": "application/json" }, body: lastModifiedBody(lastModifiedDateTime) };
  }

  /**
   * Sends up to 20 requests in one POST /$batch and returns the answers by request id. Each answer carries its own
   * status (a 200 batch can hold failures). Throws BatchUnsupportedError when the endpoint does not batch at all.
   */
  async sendBatch(requests: BatchSubRequest[]): Promise<Map<string, BatchSubResponse>> {
    if (requests.length === 0 || requests.length > MAX_BATCH_REQUESTS) {
      throw new RangeError(`a JSON batch holds 1 to ${MAX_BATCH_REQUESTS} requests (got ${requests.length})`);
    }
    const body: BatchRequestBody = { requests };
    let answer: BatchResponseBody | undefined;
    try {
      answer = await this.call<BatchResponseBody>("POST", "/$batch", { json: body });
    } catch (error) {
      if (error instanceof GraphError && BATCH_UNSUPPORTED_STATUSES.has(error.status)) throw new BatchUnsupportedError(error);
      throw error;
    }
    const byId = new Map<string, BatchSubResponse>();
    for (const response of answer?.responses ?? []) {
      if (response && typeof response.id === "string" && typeof response.status === "number") byId.set(response.id.toLowerCase(), response);
    }
    const answered = new Map<string, BatchSubResponse>();
    for (const request of requests) {
      const response = byId.get(request.id.toLowerCase());
      if (response === undefined) throw new Error(`Graph answered a JSON batch without an answer for request ${request.id}`);
      answered.set(request.id, response);
    }
    return answered;
  }

  private simpleUploadPath(parentId: string, name: string, content: Uint8Array, conflictBehavior: ConflictBehavior): string {
    assertName(name);
    if (content.length > SIMPLE_UPLOAD_MAX_BYTES) {
      throw new RangeError(`a simple upload takes at most ${SIMPLE_UPLOAD_MAX_BYTES} bytes (got ${content.length}); use an upload session`);
    }
    const query = `@microsoft.graph.conflictBehavior=${encodeURIComponent(conflictBehavior)}`;
    return `${this.itemPath(parentId)}:/${encodeURIComponent(name)}:/content?${query}`;
  }

  private drivePath(): string {
    if (this.drive === undefined) throw new Error("No drive chosen yet: the destination (DEST_DRIVE) must be resolved before any item call");
    return this.drive.drivePath;
  }

  private itemPath(itemId: string): string {
    if (itemId === "") throw new Error("empty OneDrive item id");
    return `${this.drivePath()}/items/${encodeURIComponent(itemId)}`;
  }

  private async createFolderAt(parentId: string, name: string, existingLookupPath: string): Promise<DriveItem> {
    assertName(name);
    const body: CreateFolderBody = { name, folder: {}, "@microsoft.graph.conflictBehavior": "fail" };
    try {
      return this.required(await this.call<DriveItem>("POST", `${this.itemPath(parentId)}/children`, { json: body }));
    } catch (error) {
      if (!(error instanceof GraphError && error.status === 409 && error.hasCode("nameAlreadyExists"))) throw error;
      const existing = await this.call<DriveItem>("GET", existingLookupPath, { tolerate: [404] });
      if (!existing) throw error;
      if (!existing.folder) throw new Error(`Cannot create OneDrive folder '${name}': a file with that name is in the way`);
      return existing;
    }
  }

  private resolveFolder(segments: string[], depth: number): Promise<ResolvedFolder> {
    const path = segments.slice(0, depth).join("/");
    const cached = this.folderIds.get(path);
    if (cached) return cached;
    const resolving = (async (): Promise<ResolvedFolder> => {
      if (depth === 0) return { id: (await this.getRoot()).id, createdNow: false };
      const parent = await this.resolveFolder(segments, depth - 1);
      // Under a folder this client just created nothing can exist yet, so skip the lookup.
      if (!parent.createdNow) {
        const existing = await this.getItemByPath(path);
        if (existing) {
          if (!existing.folder) throw new Error(`Cannot create OneDrive folder '${path}': a file with that name is in the way`);
          return { id: existing.id, createdNow: false };
        }
      }
      const created = await this.createFolderAt(parent.id, segments[depth - 1], `${this.drivePath()}/root:/${encodePath(path)}`);
      return { id: created.id, createdNow: true };
    })();
    this.folderIds.set(path, resolving);
    resolving.catch(() => {
      if (this.folderIds.get(path) === resolving) this.folderIds.delete(path);
    });
    return resolving;
  }

  private required<T>(value: T | undefined): T {
    if (value === undefined) throw new Error("Graph answered a success status with an empty body");
    return value;
  }

  private async call<T>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", pathOrUrl: string, options: CallOptions = {}): Promise<T | undefined> {
    const url = /^https?:\/\//i.test(pathOrUrl) ? pathOrUrl : `${this.baseUrl}${pathOrUrl}`;
    const headers = createHttpHeaders({ Accept: "application/json" });
    let body: Uint8Array | undefined;
    if (options.json !== undefined) {
      headers.set("Content-Type", "application/json");
      body = Buffer.from(JSON.stringify(options.json), "utf8");
    } else if (options.binary !== undefined) {
      headers.set("Content-Type", "application/octet-stream");
      body = options.binary;
    }
    const request = createPipelineRequest({
      url,
      method,
      headers,
      // A buffer (never a stream) so every retry sends the same bytes again.
      body,
      timeout: this.requestTimeoutMs,
      allowInsecureConnection: this.allowInsecureConnection,
    });
    if (options.retryWithoutAnswer === false) this.notRetriedWithoutAnswer.add(request);
    const response = await sendThroughPipeline(this.pipeline, this.httpClient, request, "Graph", url);
    if (response.status >= 200 && response.status < 300) return parseJson<T>(response, method, url);
    if (options.tolerate?.includes(response.status)) return undefined;
    throw graphResponseError(method, url, response, {
      bodyText: response.bodyAsText ?? undefined,
      clientRequestId: request.headers.get("client-request-id"),
      retryAfterMs: parseRetryAfterMs(response.headers, (this.retryOptions.now ?? Date.now)()),
    });
  }
}

/** Where item calls go: the Graph path of the drive, and its root's place in SharePoint for the path-length rule. */
export interface DriveAddress {
  /** "/me/drive" or "/drives/{id}". */
  drivePath: string;
  /** Decoded server-relative path of the drive root; "" when the drive's paths carry no site part (personal). */
  locationPath: string;
}

interface ResolvedFolder {
  id: string;
  createdNow: boolean;
}

function lastModifiedBody(lastModifiedDateTime: string): { fileSystemInfo: { lastModifiedDateTime: string } } {
  return { fileSystemInfo: { lastModifiedDateTime } };
}

/** A plain 400 invalidRequest, with no inner code naming a cause (a bad name or path has its own). */
function isBareInvalidRequest(error: unknown): boolean {
  return error instanceof GraphError && error.status === 400 && (error.code === "" || error.code === "invalidRequest") && error.innerCodes.length === 0;
}

function assertName(name: string): void {
  const violation = checkName(name);
  if (violation) throw new Error(`Invalid OneDrive name: ${violation}`);
}

function parseJson<T>(response: PipelineResponse, method: string, url: string): T | undefined {
  const text = response.bodyAsText;
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw graphResponseError(method, url, response, {
      bodyText: JSON.stringify({ error: { code: "invalidResponseBody", message: "success status with a body that is not JSON" } }),
    });
  }
}

function graphResponseError(
  method: string,
  url: string,
  response: PipelineResponse,
  details: { bodyText?: string; clientRequestId?: string; retryAfterMs?: number },
): GraphError {
  return new GraphError({ service: "Graph", method, url, status: response.status, headers: response.headers, ...details });
}

/**
 * Bearer token from the AccessTokenProvider on every attempt. Written here because the stock bearer policy refuses
 * http:// even for local test servers. The token only ever goes to the Graph origin over TLS (or explicit local
 * http), so an absolute URL such as a nextLink pointing elsewhere cannot pull it out.
 */
function graphTokenPolicy(tokenProvider: AccessTokenProvider, graphOrigin: string, allowInsecureConnection: boolean): PipelinePolicy {
  return {
    name: "onedriveGraphToken",
    async sendRequest(request, next) {
      const target = new URL(request.url);
      if (target.origin !== graphOrigin) {
        throw new Error(`Refusing to send the Graph access token to ${target.origin}; only ${graphOrigin} receives it`);
      }
      if (target.protocol !== "https:" && !allowInsecureConnection) {
        throw new Error("Refusing to send the Graph access token over http://");
      }
      let token: string;
      try {
        token = await tokenProvider.getAccessToken();
      } catch (error) {
        throw new TokenUnavailableError(error);
      }
      request.headers.set("Authorization", `Bearer ${token}`);
      return next(request);
    },
  };
}
