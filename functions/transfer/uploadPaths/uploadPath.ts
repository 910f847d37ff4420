import type { DriveItem } from "../../onedrive/graphTypes";
import type { OffsetQuickXorHash } from "../../onedrive/quickXorHash";
import type { SourceBlob } from "../../storage/blobSource";
import type { ClaimedRow } from "../../storage/ledger";
import type { LedgerChanges, LedgerRecord } from "../../storage/ledgerRow";
import type { Destination } from "../destinationPath";
import type { FragmentReader } from "../fragmentReader";
import type { TransferServices } from "../transferTypes";

/** What every upload path gets: one blob version under its claim, with the reader and hasher the attempt shares. */
export interface UploadContext {
  services: TransferServices;
  claimed: ClaimedRow;
  /** The row as this attempt on this blob version found it (a session it recorded, whether it was interrupted). */
  row: LedgerRecord;
  blob: SourceBlob;
  destination: Destination;
  /** The fields this attempt writes as it starts (see attemptStartChanges). */
  attemptStart: LedgerChanges;
  /**
   * Shared by the paths tried in turn: a path that falls through leaves what it read and hashed for the next (the
   * hasher never hashes a byte twice).
   */
  reader: FragmentReader;
  hasher: OffsetQuickXorHash;
  /** Epoch ms: a path that can stop part-way stops before its next fragment after it. */
  deadline?: number;
  onProgress?: (confirmedBytes: number, totalBytes: number) => void;
  /** The worker may take its next file (TransferOptions.onUploaded); the first call counts, later ones do nothing. */
  signalUploaded(): void;
}

export type UploadResult =
  /**
   * OneDrive holds the file: what it reported, the QuickXorHash of the blob's bytes, the fragments sent, and who
   * reported it: the Graph API (bearer-authenticated, trusted as an answer) or the upload host (read back by id).
   */
  | { kind: "uploaded"; item: DriveItem; quickXorHash: string; fragments: number; answeredBy: "graph" | "uploadHost" }
  /** The path cannot take this file after all, and stored nothing: the next path that accepts it is tried. */
  | { kind: "notApplicable" }
  /** The time budget ran out part-way; the bytes OneDrive confirmed and the fragments sent so far. */
  | { kind: "incomplete"; confirmedBytes: number; fragments: number };

/** One way of getting a file's bytes into OneDrive. Verification, the ledger record and AFTER_TRANSFER are not its job. */
export interface UploadPath {
  readonly name: string;
  accepts(context: UploadContext): boolean;
  upload(context: UploadContext): Promise<UploadResult>;
}
