/** Public shapes of the OneDrive emulator (see index.ts for the entry point). */

/**
 * stall: the request is accepted (body read unless readBody is false) and never answered, nor acted on.
 * stallAfterAction: the request is carried out (fragment stored, file committed, session created, item changed,
 * batch parts run) and then never answered. Both hold the connection open until the client gives up,
 * dropStalled() or close().
 */
export type FaultKind =
  | "throttle"
  | "serverErrorAfterStore"
  | "dropAfterStore"
  | "storePartialThenDrop"
  | "transient404"
  | "slowResponse"
  | "stall"
  | "stallAfterAction";

export type FaultTarget = "graph" | "uploadPut" | "uploadGet" | "any";

/** What a fault's `match` sees of a request. */
export interface FaultRequest {
  origin: "graph" | "upload";
  method: string;
  /** Path and query as received; a batch part's is "/v1.0" + its url. */
  url: string;
  /** Lowercased names, e.g. headers["content-range"] to pick a fragment. */
  headers: Record<string, string>;
}

/** The drive kinds Graph reports in `driveType`; "business" and "documentLibrary" behave as SharePoint does. */
export type DriveType = "personal" | "business" | "documentLibrary";

export interface Fault {
  kind: FaultKind;
  /** Which requests it may hit. The three store kinds only ever hit fragment PUTs. */
  target: FaultTarget;
  /** Narrows target further: the fault only arms on requests this returns true for (e.g. one route or one file). */
  match?: (request: FaultRequest) => boolean;
  /** Let this many matching requests through first, counted from when this fault reaches the head of the queue. */
  skip?: number;
  /** For throttle (default 429) and serverErrorAfterStore (default 500). */
  status?: 429 | 503 | 500 | 502 | 504;
  /** Retry-After header value: seconds ("2") or an HTTP date. No header when absent. */
  retryAfter?: string;
  /** storePartialThenDrop: keep this many bytes of the fragment. */
  partialBytes?: number;
  /** slowResponse: delay before answering. */
  delayMs?: number;
  /**
   * stall: read the whole request body before holding the connection (default true). false leaves it unread, so a
   * large body backs up in the client's socket as it does against a server that stopped reading.
   */
  readBody?: boolean;
}

export interface SeededFaults {
  seed: number;
  /** Chance (0..1) that one upload PUT gets a fault. */
  probability: number;
  kinds: FaultKind[];
  maxFaults?: number;
}

/**
 * A SharePoint library's own settings (business drives and document libraries only), each off unless set. Kept in
 * one object so a drive carries them as a whole.
 */
export interface LibraryOptions {
  /** "Require documents to be checked out": every upload leaves the file checked out until POST …/checkin. */
  requireCheckout?: boolean;
  /**
   * Display names of required columns without a default value: an upload succeeds but leaves the file checked out,
   * and checking it in is refused (400) because the columns are empty. Listed by GET {drive}/list/columns.
   */
  requiredColumns?: string[];
  /** Answer 400 "The request is malformed or incorrect." to a createUploadSession whose item has fileSystemInfo. */
  refuseFileSystemInfoAtCreation?: boolean;
  /** Files (by path) someone holds open: writes to them (replace, PATCH, DELETE, check-in) answer 423 Locked. */
  locked?: (path: string) => boolean;
  /**
   * The app's resource-unit budget per minute (1 per GET, 2 per other request, both origins): from 80 % of it on,
   * answers carry RateLimit-Limit/-Remaining/-Reset; past it, 429 with Retry-After until the minute is over. The
   * service sends these headers to app-only callers; this emulator sends them to whoever holds a token.
   */
  rateLimit?: { resourceUnitsPerMinute: number };
}

/**
 * Who a bearer token stands for. Delegated tokens carry scopes (`scp`), app-only tokens roles (`roles`), as the
 * identity platform issues them.
 */
export type GraphPrincipal =
  | { kind: "delegated"; userId: string; scopes: string[] }
  | { kind: "app"; appId: string; tenantId: string; roles: string[] };

/** Behaviour that belongs to one drive; the top-level options of the same names describe the default drive. */
export interface DriveBehaviourOptions {
  /** Default "personal" for the default drive, "documentLibrary" for a drive of a site. */
  driveType?: DriveType;
  quotaBytes?: number;
  /** See OneDriveEmulatorOptions.rewriteOnCommit. */
  rewriteOnCommit?: boolean | ((name: string) => boolean);
  /** See OneDriveEmulatorOptions.hashMissingForGets. */
  hashMissingForGets?: number;
  /** See OneDriveEmulatorOptions.library. */
  library?: LibraryOptions;
}

/** A drive beside the default one: a user's OneDrive (ownerUserId) or a document library of a site (siteId). */
export interface EmulatedDriveSpec extends DriveBehaviourOptions {
  id: string;
  /** Default "OneDrive" for a user's drive, "Documents" for a library. */
  name?: string;
  /** A user's OneDrive: `/me/drive` for that user's delegated tokens, `/users/{id or UPN}/drive`. */
  ownerUserId?: string;
  /** A library: the site it belongs to (an id from `sites`). */
  siteId?: string;
  /** A library's URL segment under its site; default "Shared Documents" (the default library, named "Documents"). */
  urlSegment?: string;
}

export interface EmulatedUserSpec {
  id: string;
  userPrincipalName: string;
  displayName?: string;
}

/** A SharePoint site; its id is `hostname,siteCollectionId,webId` as Graph forms it. */
export interface EmulatedSiteSpec {
  hostname: string;
  /** Server-relative path, "/sites/Finance"; "" or "/" for the tenant's root site. */
  path: string;
  displayName: string;
}

/** What the emulator made of a site spec. */
export interface EmulatedSite extends EmulatedSiteSpec {
  id: string;
  webUrl: string;
}

export interface OneDriveEmulatorOptions {
  accessToken?: string;
  /**
   * Tokens beyond the fixed accessToken (which stays a delegated principal of the default user with
   * Files.ReadWrite): the principal a token stands for, or undefined for a token the service does not accept (401).
   */
  principals?: (token: string) => GraphPrincipal | undefined;
  /** The default drive's owner; default id "00000000-0000-4000-8000-000000000001", UPN "user@emulator.invalid". */
  defaultUser?: EmulatedUserSpec;
  /** Further users (for /users/{id or UPN}/drive and delegated principals). */
  users?: EmulatedUserSpec[];
  sites?: EmulatedSiteSpec[];
  /** Further drives; each library must name a site of `sites`. */
  drives?: EmulatedDriveSpec[];
  /** Default "personal". The drive's `driveType`, also in every item's `parentReference.driveType`. */
  driveType?: DriveType;
  simpleUploadLimitBytes?: number;
  sessionIdleTimeoutMs?: number;
  quotaBytes?: number;
  storeContent?: boolean;
  /**
   * SharePoint's rewrite of uploaded files (session commits and simple PUTs alike): the stored file gains bytes, so
   * its size and quickXorHash differ from what was sent. true rewrites the documented kinds (.docx .xlsx .pptx
   * .jpg .jpeg); a function picks the names itself. Only for business and documentLibrary drives: a personal drive
   * never rewrites, so asking it to is refused.
   */
  rewriteOnCommit?: boolean | ((name: string) => boolean);
  /**
   * Business drives compute hashes after commit: a file written by an upload answers without `file.hashes` in its
   * commit answer and in the first this-many Graph GETs that return it (item GETs and children pages), then with
   * them. Default 0. Refused on a personal drive.
   */
  hashMissingForGets?: number;
  /**
   * "request" (default): a throttle fault answers one request. "service": a throttle fault with a Retry-After opens
   * a window on its origin (Graph, or the upload host) until Retry-After runs out on `clock`; every request to that
   * origin meanwhile is answered 429 with the seconds left, as the service throttles per app and user.
   */
  throttleScope?: "request" | "service";
  faults?: Fault[];
  seededFaults?: SeededFaults;
  clock?: () => number;
  latencyMs?: number;
  /**
   * Serve JSON batching (POST /v1.0/$batch). Default true; false answers it 400 as an endpoint without batching;
   * "jsonBodiesOnly" batches but refuses (400) any part whose body is not JSON, such as file content.
   */
  jsonBatching?: boolean | "jsonBodiesOnly";
  /**
   * The service answers 401 to a request on an uploadUrl that carries an Authorization header. true lets such
   * requests through and counts them (toleratedUploadAuthorizations): only for measuring a client that sends the
   * header anyway (rclone 1.60 does), never for the product's tests. Default false.
   */
  tolerateAuthorizationOnUploadUrls?: boolean;
  /** Library settings of a business drive or document library (see LibraryOptions); refused on a personal drive. */
  library?: LibraryOptions;
}

export interface EmulatedItem {
  id: string;
  /** Path relative to the root, "a/b/c.txt"; "" for the root. */
  path: string;
  name: string;
  isFolder: boolean;
  size: number;
  quickXorHash?: string;
  /** fileSystemInfo.lastModifiedDateTime: the client-settable modification time. */
  lastModifiedDateTime: string;
  /** fileSystemInfo.createdDateTime. */
  createdDateTime: string;
  /** File bytes (joined on first read) when storeContent is on. */
  content?: Buffer;
  eTag: string;
}

export interface RecordedRequest {
  origin: "graph" | "upload";
  method: string;
  /** Path + query as received. */
  url: string;
  /** Lowercased names. */
  headers: Record<string, string>;
  /** Request body bytes the emulator received. */
  bodyLength: number;
  /** 0 when the emulator dropped the connection or stalled without answering. */
  status: number;
  /** The emulator held the request without ever answering (a stall fault). */
  stalled?: boolean;
  startedAt: number;
  /** Set on the parts of a JSON batch: the request-id of the `POST /v1.0/$batch` that carried them. */
  batchId?: string;
}

export interface OpenSessionInfo {
  uploadUrl: string;
  path: string;
  nextExpectedOffset: number;
  expiresAt: number;
}

export interface OneDriveEmulator {
  graphEndpoint: string;
  uploadOrigin: string;
  accessToken: string;
  requests: RecordedRequest[];
  clearRequests(): void;
  addFaults(faults: Fault[]): void;
  putFile(path: string, content: Buffer | string, options?: { lastModifiedDateTime?: string }): EmulatedItem;
  /** Items of the default drive, or of the drive with this id. */
  getItem(path: string, driveId?: string): EmulatedItem | undefined;
  listTree(driveId?: string): string[];
  /** The default drive's id. */
  defaultDriveId: string;
  /** Sites as created, with their ids and webUrls. */
  sites: EmulatedSite[];
  openSessions(): OpenSessionInfo[];
  /** Requests held by a stall fault, in the order they stalled (each after its body was read, if it was to be). */
  stalled: RecordedRequest[];
  /** Resolves once at least `count` requests have stalled since the emulator started. */
  waitForStalled(count?: number): Promise<RecordedRequest[]>;
  /** Destroys the connections of stalled requests that are still open (a reset after a server-side timeout). */
  dropStalled(): number;
  /** The comments of every check-in of the file at path (of the default drive, or driveId), oldest first. */
  checkinComments(path: string, driveId?: string): string[];
  /** Requests answered 429 for going over library.rateLimit's budget. */
  rateLimitedCount(): number;
  /** Throttled answers so far per origin: throttle faults and, with throttleScope "service", the window's 429s. */
  throttledCounts(): { graph: number; upload: number };
  /** Requests on uploadUrls let through with an Authorization header (tolerateAuthorizationOnUploadUrls). */
  toleratedUploadAuthorizations(): number;
  /** Closes the servers, destroying every connection, stalled ones included. */
  close(): Promise<void>;
}
