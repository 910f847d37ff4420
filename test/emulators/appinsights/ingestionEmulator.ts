import { gunzipSync } from "node:zlib";
import { listenHttpsOnLoopback, readBody } from "../identity/loopbackHttpsServer";

/**
 * Application Insights' ingestion ("Breeze") endpoint as the Azure Monitor exporter uses it: POST /v2.1/track with a
 * JSON array of envelopes (gzip-encoded when Content-Encoding says so), answered with
 * {itemsReceived, itemsAccepted, errors: [{index, statusCode, message}]}, the shape the service's answers carry (e.g.
 * "Invalid instrumentation key" per item). Over HTTPS only, as the exporter refuses plain HTTP.
 */
export interface TelemetryEnvelope {
  name: string;
  iKey?: string;
  time: string;
  tags?: Record<string, string>;
  data: { baseType: string; baseData: Record<string, unknown> & { properties?: Record<string, string> } };
}

export interface IngestionEmulator {
  /** Connection string for the exporter; the instrumentation key is a fixed test value. */
  connectionString: string;
  envelopes: TelemetryEnvelope[];
  /** Items answered with an error (an unknown instrumentation key). */
  readonly refusedItems: number;
  close(): Promise<void>;
}

export const TEST_INSTRUMENTATION_KEY = "00000000-0000-4000-8000-000000000001";

export async function startIngestionEmulator(): Promise<IngestionEmulator> {
  const envelopes: TelemetryEnvelope[] = [];
  let refusedItems = 0;
  const server = await listenHttpsOnLoopback((request, response) => {
    void (async () => {
      if (request.method !== "POST" || !request.url?.startsWith("/v2.1/track")) {
        response.writeHead(404).end();
        return;
      }
      let body = await readBody(request);
      if (request.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      const received = JSON.parse(body.toString("utf8")) as TelemetryEnvelope[];
      const errors = received
        .map((envelope, index) => ({ index, envelope }))
        .filter(({ envelope }) => envelope.iKey !== TEST_INSTRUMENTATION_KEY)
        .map(({ index }) => ({ index, statusCode: 400, message: "Invalid instrumentation key" }));
      refusedItems += errors.length;
      envelopes.push(...received.filter((envelope) => envelope.iKey === TEST_INSTRUMENTATION_KEY));
      // As the service answers: 400 when nothing was accepted (e.g. every item has an unknown key), 206 when some were.
      const status = errors.length === 0 ? 200 : errors.length === received.length ? 400 : 206;
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify({ itemsReceived: received.length, itemsAccepted: received.length - errors.length, errors }));
    })();
  });
  return {
    connectionString: `InstrumentationKey=${TEST_INSTRUMENTATION_KEY};IngestionEndpoint=${server.origin}/`,
    envelopes,
    get refusedItems() {
      return refusedItems;
    },
    close: () => server.close(),
  };
}
