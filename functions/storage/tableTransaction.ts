import { randomUUID } from "node:crypto";
import { createHttpHeaders, createPipelineRequest, RestError, type HttpClient, type PipelineResponse } from "@azure/core-rest-pipeline";
import type { TableClient } from "@azure/data-tables";

/**
 * An entity-group transaction ("Performing entity group transactions", Azure Table service REST API) of creates and
 * merges in one partition, written out here instead of through TableClient.submitTransaction. The SDK builds a new
 * TableClient for every transaction and runs each action through a pipeline of its own only to capture its text:
 * for a sweep of small files, whose ledger rows are written a transaction at a time, that was the largest share of
 * the ledger's CPU and garbage. The request is the SDK's, byte for byte in form (the same outer headers, sub-request
 * lines and JSON entities), and it travels through the table client's own pipeline and transport, so signing,
 * retries and the per-attempt timeout are the same as for every other ledger call.
 */

/** A property value the ledger writes: Table storage infers Edm.String, Edm.Int32/Edm.Double and Edm.Boolean. */
export type EntityValue = string | number | boolean;

export type EntityGroupWrite =
  /** Insert Entity: fails with 409 EntityAlreadyExists if the row exists. */
  | { kind: "create"; partitionKey: string; rowKey: string; properties: Readonly<Record<string, EntityValue>> }
  /** Merge Entity guarded by If-Match: fails with 412 (changed) or 404 (gone). */
  | { kind: "merge"; partitionKey: string; rowKey: string; properties: Readonly<Record<string, EntityValue>>; etag: string };

export interface EntityGroupAnswer {
  status: number;
  /** The row's new ETag, when the service reports it (it does for 204 answers to inserts and merges). */
  etag?: string;
}

/** The version the SDK's transactions are sent with. */
const TRANSACTION_SERVICE_VERSION = "2019-02-02";
const CRLF = "\r\n";

function keyLiteral(value: string): string {
  return encodeURIComponent(value.replace(/'/g, "''"));
}

function entityJson(write: EntityGroupWrite): string {
  for (const [name, value] of Object.entries(write.properties)) {
    const type = typeof value;
    if (type !== "string" && type !== "number" && type !== "boolean") {
      throw new TypeError(`ledger property ${name} is a ${type}; a transaction writes strings, numbers and booleans only`);
    }
  }
  return JSON.stringify({ PartitionKey: write.partitionKey, RowKey: write.rowKey, ...write.properties });
}

function subRequest(write: EntityGroupWrite, tableUrl: string): string {
  const head =
    write.kind === "create"
      ? [
          `POST ${tableUrl} HTTP/1.1`,
          "Content-Type: application/json;odata=nometadata",
          "Accept: application/json;odata=minimalmetadata",
          "DataServiceVersion: 3.0",
          "Prefer: return-no-content",
        ]
      : [
          `PATCH ${tableUrl}(PartitionKey='${keyLiteral(write.partitionKey)}',RowKey='${keyLiteral(write.rowKey)}') HTTP/1.1`,
          "Content-Type: application/json",
          "DataServiceVersion: 3.0",
          "Accept: application/json",
          `If-Match: ${write.etag}`,
        ];
  return ["content-type: application/http", "content-transfer-encoding: binary", "", ...head, "", "", entityJson(write)].join(CRLF);
}

/** The service's error for a failed transaction or operation: status, OData code and message, as the SDK raises it. */
function transactionError(statusCode: number, bodyText: string, response: PipelineResponse): RestError {
  let code: string | undefined;
  let message = "Transaction Failed";
  try {
    const parsed = JSON.parse(bodyText) as { "odata.error"?: { code?: string; message?: { value?: string } } };
    code = parsed["odata.error"]?.code;
    message = parsed["odata.error"]?.message?.value ?? message;
  } catch {
    // Not JSON: the status alone says what failed.
  }
  return new RestError(message, { code, statusCode, request: response.request, response });
}

/**
 * The operations' answers in order. A transaction is all or nothing: when one operation fails, the service answers
 * that operation alone, and this throws its error (status, code) having written nothing.
 */
export function parseEntityGroupResponse(response: PipelineResponse): EntityGroupAnswer[] {
  const body = response.bodyAsText ?? "";
  if (response.status < 200 || response.status >= 300) {
    const json = body.indexOf("{");
    throw transactionError(response.status, json >= 0 ? body.slice(json) : body, response);
  }
  const boundary = /boundary=(changesetresponse_[^\s;"]+)/i.exec(body)?.[1];
  if (!boundary) throw new RestError("the table service answered a transaction without a change set", { statusCode: response.status, request: response.request, response });
  const parts = body.split(`--${boundary}`).slice(1, -1);
  return parts.map((part) => {
    const statusLine = /HTTP\/1\.1 (\d{3})/.exec(part);
    if (!statusLine) throw new RestError(`the table service answered a transaction operation without a status line`, { statusCode: response.status, request: response.request, response });
    const status = Number(statusLine[1]);
    const afterStatus = part.slice(statusLine.index);
    const headerEnd = afterStatus.indexOf(`${CRLF}${CRLF}`);
    const headers = headerEnd >= 0 ? afterStatus.slice(0, headerEnd) : afterStatus;
    if (status >= 300) throw transactionError(status, headerEnd >= 0 ? afterStatus.slice(headerEnd + 4).trim() : "", response);
    const etag = /^ETag:[ \t]*(.+?)[ \t]*$/im.exec(headers)?.[1];
    return etag === undefined ? { status } : { status, etag };
  });
}

/**
 * Sends the writes (one partition, at most 100, each row once: the service's rules for a transaction) as one
 * entity-group transaction through the table client's pipeline and `transport`.
 */
export async function submitEntityGroup(table: TableClient, transport: HttpClient, writes: readonly EntityGroupWrite[]): Promise<EntityGroupAnswer[]> {
  const [accountUrl, sas] = table.url.split("?");
  const base = accountUrl.replace(/\/+$/, "");
  const tableUrl = `${base}/${table.tableName}`;
  const batchBoundary = `batch_${randomUUID()}`;
  const changesetBoundary = `changeset_${randomUUID()}`;
  const body = [
    `--${batchBoundary}${CRLF}content-type: multipart/mixed; boundary=${changesetBoundary}${CRLF}${CRLF}`,
    ...writes.map((write) => `--${changesetBoundary}${CRLF}${subRequest(write, tableUrl)}`),
    `--${changesetBoundary}--`,
    `--${batchBoundary}--`,
    "",
  ].join(CRLF);
  const request = createPipelineRequest({
    url: `${base}/$batch${sas ? `?${sas}` : ""}`,
    method: "POST",
    body,
    headers: createHttpHeaders({
      accept: "application/json",
      "x-ms-version": TRANSACTION_SERVICE_VERSION,
      DataServiceVersion: "3.0;",
      MaxDataServiceVersion: "3.0;NetFx",
      "Content-Type": `multipart/mixed; boundary=${batchBoundary}`,
      "Accept-Charset": "UTF-8",
    }),
    allowInsecureConnection: table.url.startsWith("http:"),
  });
  const answers = parseEntityGroupResponse(await table.pipeline.sendRequest(transport, request));
  if (answers.length !== writes.length) {
    throw new RestError(`the table service answered ${answers.length} of a transaction's ${writes.length} operations`, { statusCode: 202, request });
  }
  return answers;
}
