import { createHash } from "node:crypto";
import type { TableClient } from "@azure/data-tables";
import type { ResolvedLibrary, ResolvedLibraryCache } from "../onedrive/destinationDrive";

/** Rows of resolved library URLs, beside the ledger's (whose partitions are `<container>_<shard>` and `_sweepruns`). */
export const DESTINATIONS_PARTITION = "_destinations";

function rowKeyOf(libraryUrlKey: string): string {
  return createHash("sha256").update(libraryUrlKey, "utf8").digest("hex");
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number } | undefined)?.statusCode;
}

/**
 * One small row per library URL in the ledger table, so a function app resolves a library once rather than on
 * every invocation. The cache only saves requests: a row that cannot be read or written costs a fresh lookup,
 * never the run, and the resolver drops a row whose drive answers 404.
 */
export function tableLibraryCache(table: TableClient, warn: (message: string) => void): ResolvedLibraryCache {
  return {
    async get(libraryUrlKey) {
      try {
        const row = await table.getEntity<Record<string, unknown>>(DESTINATIONS_PARTITION, rowKeyOf(libraryUrlKey));
        if (row.libraryUrl !== libraryUrlKey || typeof row.driveId !== "string" || row.driveId === "") return undefined;
        return { driveId: row.driveId, siteDisplayName: String(row.siteDisplayName ?? "") };
      } catch (error) {
        if (statusOf(error) !== 404) warn(`could not read the cached drive of ${libraryUrlKey}; resolving it again: ${(error as Error).message}`);
        return undefined;
      }
    },
    async set(libraryUrlKey, library: ResolvedLibrary) {
      const entity = { partitionKey: DESTINATIONS_PARTITION, rowKey: rowKeyOf(libraryUrlKey), libraryUrl: libraryUrlKey, ...library, resolvedAt: new Date().toISOString() };
      try {
        await table.upsertEntity(entity, "Replace");
      } catch (error) {
        if (statusOf(error) !== 404) {
          warn(`could not cache the drive of ${libraryUrlKey}: ${(error as Error).message}`);
          return;
        }
        // The ledger table is created on first use; this row may come first.
        await table.createTable().catch(() => undefined);
        await table.upsertEntity(entity, "Replace").catch((retryError: unknown) => warn(`could not cache the drive of ${libraryUrlKey}: ${(retryError as Error).message}`));
      }
    },
    async drop(libraryUrlKey) {
      await table.deleteEntity(DESTINATIONS_PARTITION, rowKeyOf(libraryUrlKey)).catch(() => undefined);
    },
  };
}
