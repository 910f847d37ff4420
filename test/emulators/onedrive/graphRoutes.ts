import { isBatchPath } from "./batchRequests";
import { handleBatch } from "./batchRoutes";
import { answerPreActionFault, answerThrottleWindow, withDrive, type EmulatorContext } from "./context";
import { handleSiteRequest, isSitePath } from "./siteRoutes";
import { driveJson, selectFields } from "./tenant";
import { BodyTooLargeError, type Exchange, readBody, readJsonBody, ServiceError } from "./exchange";
import { type GraphAddress, parseGraphAddress } from "./graphAddress";
import { assertCreatableName } from "./nameRules";
import { quickXorHashBase64 } from "./quickXorHash";
import { createUploadSession, commitBySourceUrl } from "./graphUploadRoutes";
import { REWRITE_SUFFIX } from "./uploadSessions";
import {
  checkPreconditions,
  CONFLICT_ANNOTATION,
  fullPathOf,
  type ItemAddress,
  itemJson,
  itemNotFound,
  parseConflictBehavior,
  parseTimes,
  resolveExisting,
  resolveWriteTarget,
  selectedItemJson,
} from "./graphItems";

const PAGE_SIZE = 200;
const MAX_TOP = 1000;

/** The Graph origin: bearer auth, drive addressing, items, children, simple upload, upload-session creation, and JSON batches. */
export async function handleGraphRequest(exchange: Exchange, context: EmulatorContext): Promise<void> {
  if (await answerThrottleWindow(exchange, context)) return;
  const fault = context.faults.take("graph", { origin: "graph", method: exchange.req.method ?? "GET", url: exchange.req.url ?? "/", headers: exchange.record.headers });
  if (await answerPreActionFault(exchange, context, fault)) return;

  const authorization = exchange.header("authorization");
  if (authorization === undefined || authorization === "") {
    throw new ServiceError(401, "InvalidAuthenticationToken", "Access token is empty.");
  }
  const bearer = /^Bearer (.+)$/i.exec(authorization);
  const principal = bearer === null ? undefined : context.principals(bearer[1]);
  if (principal === undefined) {
    throw new ServiceError(401, "InvalidAuthenticationToken", "Access token validation failure: the bearer token is not valid for this drive.");
  }

  if (await context.library.meter(exchange)) return;

  const rawPathname = (exchange.req.url ?? "/").split("?")[0];
  if (isBatchPath(rawPathname)) {
    // An endpoint without JSON batching (jsonBatching: false) answers as Graph does for a segment it does not know.
    if (!context.jsonBatching) throw new ServiceError(400, "BadRequest", "Resource not found for the segment '$batch'.");
    await handleBatch(exchange, context);
    return;
  }
  const method = exchange.req.method ?? "GET";
  if (isSitePath(rawPathname)) {
    await handleSiteRequest(exchange, { ...context, principal }, rawPathname);
    return;
  }
  const parsed = parseGraphAddress(rawPathname);
  const address = parsed.address;
  const drive = context.tenant.driveFor(parsed.drive, principal, method === "GET" ? "read" : "write");
  await handleDriveRequest(exchange, withDrive({ ...context, principal }, drive), address, method, rawPathname);
}

async function handleDriveRequest(exchange: Exchange, context: EmulatorContext, address: GraphAddress, method: string, rawPathname: string): Promise<void> {
  if (address.kind === "drive") {
    if (method !== "GET") throw new ServiceError(405, "invalidRequest", `${method} is not supported on a drive.`);
    await exchange.sendJson(200, selectFields(driveJson(context.drive, context.tenant), exchange.url.searchParams.get("$select")));
    return;
  }
  if (address.kind === "listColumns") {
    if (method !== "GET") throw new ServiceError(405, "invalidRequest", `${method} is not supported on a list's columns.`);
    if (!context.business) throw new ServiceError(400, "invalidRequest", "A personal drive has no underlying list.");
    await exchange.sendJson(200, context.library.columnsJson());
    return;
  }

  switch (`${method} ${address.action ?? ""}`) {
    case "GET ": {
      const item = resolveExisting(context, address);
      const select = exchange.url.searchParams.get("$select");
      await exchange.sendJson(200, select === null ? itemJson(context, item) : selectedItemJson(context, item, select));
      context.store.noteRead(item);
      return;
    }
    case "GET children":
      await listChildren(exchange, context, address, rawPathname);
      return;
    case "POST children":
      await createFolder(exchange, context, address);
      return;
    case "POST createUploadSession":
      await createUploadSession(exchange, context, address);
      return;
    case "PUT content":
      await simpleUpload(exchange, context, address);
      return;
    case "PUT ":
      await commitBySourceUrl(exchange, context, address);
      return;
    case "PATCH ":
      await updateItem(exchange, context, address);
      return;
    case "POST checkin": {
      if (!context.business) throw new ServiceError(400, "invalidRequest", "Check-in is for SharePoint libraries; a personal drive has none.");
      const item = resolveExisting(context, address);
      context.library.checkin(item, await readJsonBody(exchange));
      await exchange.sendEmpty(204);
      return;
    }
    case "DELETE ":
      await deleteItem(exchange, context, address);
      return;
    default:
      throw new ServiceError(405, "invalidRequest", `${method} is not supported on this resource${address.action ? ` (${address.action})` : ""}.`);
  }
}

async function listChildren(exchange: Exchange, context: EmulatorContext, address: ItemAddress, rawPathname: string): Promise<void> {
  const folder = resolveExisting(context, address);
  const params = exchange.url.searchParams;
  const topText = params.get("$top");
  const top = topText === null ? PAGE_SIZE : Number(topText);
  if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) {
    throw new ServiceError(400, "invalidRequest", `$top must be an integer from 1 to ${MAX_TOP}.`);
  }
  const skipText = params.get("$skiptoken");
  const skip = skipText === null ? 0 : Number(skipText);
  if (!Number.isInteger(skip) || skip < 0) throw new ServiceError(400, "invalidRequest", "The $skiptoken is not valid.");
  const children = [...folder.children.values()].sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1));
  const page = children.slice(skip, skip + top);
  const body: Record<string, unknown> = { value: page.map((child) => itemJson(context, child)) };
  if (skip + top < children.length) {
    body["@odata.nextLink"] = `${context.graphEndpoint}${rawPathname}?$top=${top}&$skiptoken=${skip + top}`;
  }
  await exchange.sendJson(200, body);
  for (const child of page) context.store.noteRead(child);
}

async function createFolder(exchange: Exchange, context: EmulatorContext, address: ItemAddress): Promise<void> {
  const parent = resolveExisting(context, address);
  if (!parent.isFolder) throw new ServiceError(400, "invalidRequest", "Children can only be created in a folder.");
  const body = await readJsonBody(exchange);
  const name = body.name;
  if (typeof name !== "string") throw new ServiceError(400, "invalidRequest", "The new folder needs a \"name\".");
  if (body.folder === null || typeof body.folder !== "object") {
    throw new ServiceError(400, "invalidRequest", "The emulator creates folders only: send \"folder\": {}.");
  }
  const conflictBehavior = parseConflictBehavior(body[CONFLICT_ANNOTATION], "fail");
  assertCreatableName(name, fullPathOf(context, parent, name), { isFolder: true, business: context.business });
  const times = parseTimes(body.fileSystemInfo);
  const existing = context.store.child(parent, name);
  if (existing !== undefined) {
    if (conflictBehavior === "replace" && existing.isFolder) {
      await exchange.sendJson(201, itemJson(context, existing));
      return;
    }
    if (conflictBehavior !== "rename") {
      throw new ServiceError(409, "nameAlreadyExists", `An item named '${existing.name}' already exists in this folder.`);
    }
  }
  const finalName = conflictBehavior === "rename" ? context.store.uniqueName(parent, name) : name;
  await exchange.sendJson(201, itemJson(context, context.store.createFolder(parent, finalName, times)));
}

async function simpleUpload(exchange: Exchange, context: EmulatorContext, address: ItemAddress): Promise<void> {
  const limit = context.simpleUploadLimitBytes;
  const tooLarge = (): ServiceError =>
    new ServiceError(413, "invalidRequest", `A simple upload may carry at most ${limit} bytes; use an upload session for larger files.`, "maxFileSizeExceeded");
  const declared = exchange.header("content-length");
  if (declared !== undefined && Number(declared) > limit) throw tooLarge();
  const conflictBehavior = parseConflictBehavior(exchange.url.searchParams.get(CONFLICT_ANNOTATION) ?? undefined, "replace");
  const target = resolveWriteTarget(context, address, "Cannot upload content to a folder; address a file (…/items/{parent-id}:/{name}:/content).");
  assertCreatableName(target.name, fullPathOf(context, target.parent, target.name), { isFolder: false, business: context.business });
  checkPreconditions(exchange, context, target.existing);
  if (conflictBehavior === "replace") context.library.assertUnlocked(target.existing);
  let name = target.name;
  if (target.existing !== undefined) {
    if (target.existing.isFolder) throw new ServiceError(409, "nameAlreadyExists", `A folder named '${target.existing.name}' already exists.`);
    if (conflictBehavior === "fail") throw new ServiceError(409, "nameAlreadyExists", `The file '${target.existing.name}' already exists and conflictBehavior is "fail".`);
    if (conflictBehavior === "rename") name = context.store.uniqueName(target.parent, name);
  }
  let content: Buffer;
  try {
    content = await readBody(exchange, limit);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw tooLarge();
    throw error;
  }
  if (context.rewrites(name)) content = Buffer.concat([content, REWRITE_SUFFIX]);
  const freed = target.existing !== undefined && conflictBehavior === "replace" ? target.existing.size : 0;
  if (content.length > context.store.remainingBytes() + freed) {
    throw new ServiceError(507, "quotaLimitReached", "Insufficient Space Available: the file does not fit in the drive's quota.");
  }
  const { item, created } = context.store.writeFile(
    target.parent,
    name,
    { size: content.length, quickXorHash: quickXorHashBase64(content), chunks: context.storeContent ? [content] : undefined },
    {},
  );
  context.store.markHashPending(item);
  await exchange.sendJson(created ? 201 : 200, itemJson(context, item));
}

async function updateItem(exchange: Exchange, context: EmulatorContext, address: ItemAddress): Promise<void> {
  const item = resolveExisting(context, address);
  if (item.parentId === undefined) throw new ServiceError(400, "invalidRequest", "The drive root cannot be changed.");
  const body = await readJsonBody(exchange);
  const unsupported = Object.keys(body).filter((key) => !["name", "fileSystemInfo", "description", CONFLICT_ANNOTATION].includes(key));
  if (unsupported.length > 0) {
    throw new ServiceError(400, "invalidRequest", `The emulator's PATCH supports name and fileSystemInfo only, not ${unsupported.join(", ")}.`);
  }
  checkPreconditions(exchange, context, item);
  context.library.assertUnlocked(item);
  const times = parseTimes(body.fileSystemInfo);
  if (body.name !== undefined) {
    if (typeof body.name !== "string") throw new ServiceError(400, "invalidRequest", "name must be a string.");
    const parent = context.store.get(item.parentId);
    if (parent === undefined) throw itemNotFound();
    assertCreatableName(body.name, fullPathOf(context, parent, body.name), { isFolder: item.isFolder, business: context.business });
    const clash = context.store.child(parent, body.name);
    if (clash !== undefined && clash !== item) {
      throw new ServiceError(409, "nameAlreadyExists", `An item named '${clash.name}' already exists in this folder.`);
    }
    context.store.rename(item, body.name);
  }
  if (times.lastModifiedDateTime !== undefined) item.fileSystemModified = times.lastModifiedDateTime;
  if (times.createdDateTime !== undefined) item.fileSystemCreated = times.createdDateTime;
  context.store.touch(item);
  await exchange.sendJson(200, itemJson(context, item));
}

async function deleteItem(exchange: Exchange, context: EmulatorContext, address: ItemAddress): Promise<void> {
  const item = resolveExisting(context, address);
  if (item.parentId === undefined) throw new ServiceError(403, "accessDenied", "The drive root cannot be deleted.");
  checkPreconditions(exchange, context, item);
  context.library.assertUnlocked(item);
  context.store.remove(item);
  await exchange.sendEmpty(204);
}
