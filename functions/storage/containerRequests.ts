import { ContainerClient } from "@azure/storage-blob";
import { createHttpHeaders, createPipelineRequest, RestError, type PipelineRequest, type PipelineResponse } from "@azure/core-rest-pipeline";
import { parseListBlobsPage, type ListingPage } from "./blobListing";
import { withoutFormDataPolicy } from "./formDataPolicy";

/**
 * The two requests a sweep makes per page and per file, sent through the container client's own pipeline
 * (credential, retries, service version), as every SDK call is, without what the SDK adds around them. A ranged read
 * through the SDK builds a BlobClient for the blob (a URL parse, a service client, a pipeline conversion) and maps
 * about fifty response headers onto its typed model: for a small file that was more CPU than the bytes themselves.
 * A listing through the SDK parses the whole document into a typed model (blobListing.ts).
 */
export class ContainerRequests extends ContainerClient {
  static of(container: ContainerClient): ContainerRequests {
    // The same pipeline as the container's client: its credential, retry and transport options.
    const requests = new ContainerRequests(container.url, (container as ContainerRequests).pipeline);
    withoutFormDataPolicy(requests.storageClientContext.pipeline);
    return requests;
  }

  /** The blob's URL exactly as ContainerClient.getBlobClient(name).url spells it (each path segment escaped). */
  blobUrl(blobName: string): string {
    const url = new URL(this.url);
    const escaped = blobName
      .split("/")
      .map((segment) => encodeURIComponent(segment).replace(/'/g, "%27"))
      .join("/");
    url.pathname = url.pathname.endsWith("/") ? `${url.pathname}${escaped}` : `${url.pathname}/${escaped}`;
    return url.toString();
  }

  /** One page of blobs under `prefix`, from `marker` on; `maxResults` only for tests (the service's default is 5,000). */
  async listPage(options: { prefix?: string; marker?: string; maxResults?: number; abortSignal?: AbortSignal }): Promise<ListingPage> {
    const [base, sas] = this.url.split("?");
    const query = ["restype=container", "comp=list"];
    if (options.prefix) query.push(`prefix=${encodeURIComponent(options.prefix)}`);
    if (options.marker) query.push(`marker=${encodeURIComponent(options.marker)}`);
    if (options.maxResults !== undefined) query.push(`maxresults=${options.maxResults}`);
    if (sas) query.push(sas);
    const response = await this.send(`${base}?${query.join("&")}`, { Accept: "application/xml" }, options.abortSignal, `listing container "${this.containerName}"`);
    const parts: Buffer[] = [];
    for await (const chunk of response.readableStreamBody as AsyncIterable<Buffer>) parts.push(chunk);
    return parseListBlobsPage(Buffer.concat(parts).toString("utf8"));
  }

  /**
   * Get Blob for bytes [offset, offset + count) of the version whose ETag is `etag` (If-Match): the answer's body,
   * still to be read. A 412 (another version now) or 404 is a RestError with that status.
   */
  async readRange(blobName: string, etag: string, offset: number, count: number, abortSignal?: AbortSignal): Promise<NodeJS.ReadableStream> {
    const response = await this.send(
      this.blobUrl(blobName),
      { "x-ms-range": `bytes=${offset}-${offset + count - 1}`, "If-Match": `"${etag}"` },
      abortSignal,
      `reading blob "${blobName}"`,
    );
    return response.readableStreamBody!;
  }

  private async send(url: string, headers: Record<string, string>, abortSignal: AbortSignal | undefined, what: string): Promise<PipelineResponse> {
    const request: PipelineRequest = createPipelineRequest({
      url,
      method: "GET",
      headers: createHttpHeaders({ ...headers, "x-ms-version": this.storageClientContext.version }),
      abortSignal,
      // The body is read as it comes: the pipeline would otherwise buffer it (and parse a listing into a tree).
      streamResponseStatusCodes: new Set([200, 206]),
      allowInsecureConnection: url.startsWith("http:"),
    });
    const response = await this.storageClientContext.sendRequest(request);
    if (response.status !== 200 && response.status !== 206) {
      const code = response.headers.get("x-ms-error-code");
      throw new RestError(`${what} failed: HTTP ${response.status}${code ? ` ${code}` : ""}`, { statusCode: response.status, code, request, response });
    }
    if (!response.readableStreamBody) throw new RestError(`${what}: the blob service answered HTTP ${response.status} without a body`, { statusCode: response.status, request, response });
    return response;
  }
}
