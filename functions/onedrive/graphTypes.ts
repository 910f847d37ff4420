/**
 * Microsoft Graph drive protocol shapes, as the service sends and accepts them. Only the fields this product reads
 * or writes are typed; the service sends more. No logic lives here.
 * https://learn.microsoft.com/graph/api/resources/driveitem
 */

import type { ConflictBehavior } from "../config/settings";

export interface Hashes {
  quickXorHash?: string;
  sha1Hash?: string;
  sha256Hash?: string;
}

export interface FileFacet {
  mimeType?: string;
  hashes?: Hashes;
}

export interface FolderFacet {
  childCount?: number;
}

export interface FileSystemInfo {
  createdDateTime?: string;
  lastModifiedDateTime?: string;
}

export interface ItemReference {
  driveId?: string;
  driveType?: string;
  id?: string;
  /** e.g. "/drive/root:/a/b"; absent on the root item. */
  path?: string;
}

export interface DriveItem {
  id: string;
  name: string;
  size?: number;
  eTag?: string;
  cTag?: string;
  createdDateTime?: string;
  lastModifiedDateTime?: string;
  webUrl?: string;
  parentReference?: ItemReference;
  file?: FileFacet;
  folder?: FolderFacet;
  /** Present (an empty object) only on the drive's root folder. */
  root?: Record<string, unknown>;
  fileSystemInfo?: FileSystemInfo;
  /** On a SharePoint library that uses check-out: whether the current version is checked out or published. */
  publication?: PublicationFacet;
}

/** https://learn.microsoft.com/graph/api/resources/publicationfacet */
export interface PublicationFacet {
  level?: "published" | "checkout" | string;
  versionId?: string;
}

/** GET {drive}: only the quota is read. https://learn.microsoft.com/graph/api/resources/quota */
export interface Drive {
  id?: string;
  driveType?: string;
  quota?: { total?: number; used?: number; remaining?: number; state?: string };
}

/** A library column (GET {drive}/list/columns). https://learn.microsoft.com/graph/api/resources/columndefinition */
export interface ColumnDefinition {
  name?: string;
  displayName?: string;
  required?: boolean;
  readOnly?: boolean;
  hidden?: boolean;
  /** Absent or null when the column has no default value. */
  defaultValue?: { value?: string } | null;
}

/** Body of POST {item}/checkin. https://learn.microsoft.com/graph/api/driveitem-checkin */
export interface CheckinBody {
  comment: string;
}

/** A page of a collection; `@odata.nextLink` is an absolute URL to the next page. */
export interface DriveItemCollection {
  value: DriveItem[];
  "@odata.nextLink"?: string;
}

/** Body of POST .../createUploadSession (driveItemUploadableProperties under `item`). */
export interface CreateUploadSessionBody {
  item: {
    "@microsoft.graph.conflictBehavior": ConflictBehavior;
    name: string;
    fileSize: number;
    /** Left out on a drive that refuses it at creation (then set by a PATCH after the commit). */
    fileSystemInfo?: { lastModifiedDateTime: string };
  };
}

/** Body of POST .../children creating a folder. */
export interface CreateFolderBody {
  name: string;
  folder: Record<string, never>;
  "@microsoft.graph.conflictBehavior": ConflictBehavior;
}

/**
 * The createUploadSession reply, a 202 to a fragment and the status GET. `nextExpectedRanges` holds inclusive
 * zero-based "start-end" or open "start-" strings; the create reply may leave it out.
 */
export interface UploadSessionInfo {
  uploadUrl: string;
  expirationDateTime?: string;
  nextExpectedRanges?: string[];
}

/** Status body without the URL: a 202 to a fragment, or GET on the uploadUrl. */
export interface UploadSessionStatusBody {
  expirationDateTime?: string;
  nextExpectedRanges?: string[];
  /** Spelling used by some non-drive Graph upload services (Outlook attachments). */
  NextExpectedRanges?: string[];
}

/** Nested error detail; Graph spells the key both `innererror` and `innerError`. */
export interface GraphInnerError {
  code?: string;
  message?: string;
  "request-id"?: string;
  "client-request-id"?: string;
  date?: string;
  innererror?: GraphInnerError;
  innerError?: GraphInnerError;
}

/** The error envelope: `{"error":{"code","message","innererror":{...}}}`. */
export interface GraphErrorBody {
  error: {
    code: string;
    message?: string;
    innererror?: GraphInnerError;
    innerError?: GraphInnerError;
  };
}

/**
 * One request of a JSON batch (POST /$batch, https://learn.microsoft.com/graph/json-batching). `url` is relative to
 * the version root; a body needs a Content-Type header, and a body that is not JSON travels as a base64 string.
 */
export interface BatchSubRequest {
  id: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  dependsOn?: string[];
}

/** A request ready to join a batch; the batch gives it its id. */
export type BatchableRequest = Omit<BatchSubRequest, "id">;

export interface BatchRequestBody {
  requests: BatchSubRequest[];
}

/**
 * One answer of a batch; answers may come in any order, matched by `id`. The service answers a content upload's
 * body as a base64 string of the JSON (by design, Microsoft Q&A 1352007), other bodies as JSON.
 */
export interface BatchSubResponse {
  id: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface BatchResponseBody {
  responses: BatchSubResponse[];
}
