/** Public shapes of the OneDrive emulator (see index.ts for the entry point). */

export type FaultKind =
  | "throttle"
  | "serverErrorAfterStore"
  | "dropAfterStore"
  | "storePartialThenDrop"
  | "transient404"
  | "slowResponse";

export type FaultTarget = "graph" | "uploadPut" | "uploadGet" | "any";

export interface Fault {
  kind: FaultKind;
  /** Which requests it may hit. The three store kinds only ever hit fragment PUTs. */
  target: FaultTarget;
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
}

export interface SeededFaults {
  seed: number;
  /** Chance (0..1) that one upload PUT gets a fault. */
  probability: number;
  kinds: FaultKind[];
  maxFaults?: number;
}

export interface OneDriveEmulatorOptions {
  accessToken?: string;
  driveType?: "personal" | "business";
  simpleUploadLimitBytes?: number;
  sessionIdleTimeoutMs?: number;
  quotaBytes?: number;
  storeContent?: boolean;
  /** Files whose stored bytes the "service" changes on upload (session commits and simple PUTs alike). */
  rewriteOnCommit?: (name: string) => boolean;
  faults?: Fault[];
  seededFaults?: SeededFaults;
  clock?: () => number;
  latencyMs?: number;
  /**
   * Serve JSON batching (POST /v1.0/$batch). Default true; false answers it 400 as an endpoint without batching;
   * "jsonBodiesOnly" batches but refuses (400) any part whose body is not JSON, such as file content.
   */
  jsonBatching?: boolean | "jsonBodiesOnly";
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
  /** 0 when the emulator dropped the connection without answering. */
  status: number;
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
  getItem(path: string): EmulatedItem | undefined;
  listTree(): string[];
  openSessions(): OpenSessionInfo[];
  close(): Promise<void>;
}
