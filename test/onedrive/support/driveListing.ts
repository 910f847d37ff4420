import type { GraphClient } from "../../../functions/onedrive/graphClient";
import type { DriveItem, DriveItemCollection } from "../../../functions/onedrive/graphTypes";

/**
 * A folder's children, page after page (`@odata.nextLink`), read through the product's Graph client: its token,
 * retries and refusal to send the token to another origin apply. The product never lists a folder; tests do.
 */
export async function* listChildren(graph: GraphClient, folderId: string, drivePath = "/me/drive"): AsyncIterable<DriveItem> {
  let next: string | undefined = `${drivePath}/items/${encodeURIComponent(folderId)}/children`;
  while (next !== undefined) {
    const page: DriveItemCollection = await graph.getResource<DriveItemCollection>(next);
    yield* page.value ?? [];
    next = page["@odata.nextLink"];
  }
}
