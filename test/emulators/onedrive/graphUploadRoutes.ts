import type { EmulatorContext } from "./context";
import { type Exchange, readJsonBody, ServiceError } from "./exchange";
import {
  checkPreconditions,
  CONFLICT_ANNOTATION,
  fullPathOf,
  type ItemAddress,
  itemJson,
  parseConflictBehavior,
  parseTimes,
  resolveWriteTarget,
} from "./graphItems";
import { assertCreatableName } from "./nameRules";

/** POST …/createUploadSession in every URL form of doc section 2.1. */
export async function createUploadSession(exchange: Exchange, context: EmulatorContext, address: ItemAddress): Promise<void> {
  const body = await readJsonBody(exchange);
  const item = body.item ?? {};
  if (item === null || typeof item !== "object" || Array.isArray(item)) {
    throw new ServiceError(400, "invalidRequest", "\"item\" must be an object.");
  }
  const itemFields = item as Record<string, unknown>;
  // No value behaves like replace: what the service really does, whatever the Graph page says (doc section 2.3).
  const conflictBehavior = parseConflictBehavior(itemFields[CONFLICT_ANNOTATION], "replace");
  const declaredSize = itemFields.fileSize;
  if (declaredSize !== undefined && (!Number.isSafeInteger(declaredSize) || (declaredSize as number) < 0)) {
    throw new ServiceError(400, "invalidRequest", `item.fileSize must be a non-negative integer, not ${JSON.stringify(declaredSize)}.`);
  }
  if (body.deferCommit !== undefined && typeof body.deferCommit !== "boolean") {
    throw new ServiceError(400, "invalidRequest", "deferCommit must be true or false.");
  }
  context.library.checkSessionItem(itemFields);
  const times = parseTimes(itemFields.fileSystemInfo);

  const target = resolveWriteTarget(context, address, "File name not provided in url.");
  if (itemFields.name !== undefined && itemFields.name !== target.name) {
    throw new ServiceError(400, "invalidRequest", `The name in the request body (${JSON.stringify(itemFields.name)}) does not match the name in the URL ('${target.name}').`);
  }
  if (!target.byId) {
    assertCreatableName(target.name, fullPathOf(context, target.parent, target.name), { isFolder: false, business: context.business });
  }
  checkPreconditions(exchange, context, target.existing);
  if (target.existing?.isFolder) {
    throw new ServiceError(409, "nameAlreadyExists", `A folder named '${target.existing.name}' already exists where the file should go.`);
  }
  if (target.existing !== undefined && conflictBehavior === "fail") {
    throw new ServiceError(409, "nameAlreadyExists", `The file '${target.existing.name}' already exists and conflictBehavior is "fail".`);
  }
  if (conflictBehavior === "replace") context.library.assertUnlocked(target.existing);
  if (typeof declaredSize === "number" && declaredSize > context.store.remainingBytes()) {
    throw new ServiceError(507, "quotaLimitReached", `Insufficient Space Available: ${declaredSize} bytes do not fit in the ${context.store.remainingBytes()} bytes left.`);
  }
  if (context.business && context.sessions.openOnPath(target.parent.id, target.name) !== undefined) {
    throw new ServiceError(409, "nameAlreadyExists", "A file with the same name is currently being uploaded: an upload session for this path is still open; DELETE its uploadUrl or let it expire.");
  }
  const session = context.sessions.create({
    parent: target.parent,
    name: target.name,
    conflictBehavior,
    declaredSize: declaredSize as number | undefined,
    deferCommit: body.deferCommit === true,
    times,
  });
  await exchange.sendJson(200, {
    uploadUrl: session.uploadUrl,
    expirationDateTime: new Date(session.expiresAt).toISOString(),
    nextExpectedRanges: ["0-"],
  });
}

/**
 * Personal-style commit of a finished upload session: PUT to the file's own address with
 * {"@microsoft.graph.sourceUrl": uploadUrl, name?, conflictBehavior?} (doc section 3.6).
 */
export async function commitBySourceUrl(exchange: Exchange, context: EmulatorContext, address: ItemAddress): Promise<void> {
  const body = await readJsonBody(exchange);
  const sourceUrl = body["@microsoft.graph.sourceUrl"];
  if (typeof sourceUrl !== "string") {
    throw new ServiceError(400, "invalidRequest", "PUT on an item needs \"@microsoft.graph.sourceUrl\" (an uploadUrl); upload content with PUT …/content.");
  }
  const session = context.sessions.findByUrl(sourceUrl);
  if (session === undefined) throw new ServiceError(404, "itemNotFound", "The upload session was not found");
  const target = resolveWriteTarget(context, address, "File name not provided in url.");
  const nameInBody = body.name ?? target.name;
  if (target.parent.id !== session.parentId || target.name.toLowerCase() !== session.name.toLowerCase() || nameInBody !== target.name) {
    throw new ServiceError(400, "invalidRequest", `The name ${JSON.stringify(nameInBody)} does not match the name in the URL or the upload session's file; address the file path itself.`);
  }
  if (!context.sessions.holdsAllBytes(session)) {
    throw new ServiceError(416, "invalidRange", `The upload session holds ${session.nextExpected} bytes, not the whole file; send the remaining fragments before committing.`);
  }
  const conflictBehavior = parseConflictBehavior(body[CONFLICT_ANNOTATION], session.conflictBehavior);
  const { item, created } = context.sessions.commit(session, conflictBehavior);
  await exchange.sendJson(created ? 201 : 200, itemJson(context, item));
}
