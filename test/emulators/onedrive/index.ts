import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { loadTestCertificate } from "../../support/testCertificate";
import type { EmulatorContext } from "./context";
import { DriveStore } from "./driveStore";
import { HttpExchange, toServiceError } from "./exchange";
import { FaultPlan } from "./faults";
import { handleGraphRequest } from "./graphRoutes";
import { LibraryPolicies } from "./libraryPolicies";
import { handleUploadRequest } from "./uploadRoutes";
import { ThrottleState } from "./throttling";
import { isDocumentedRewriteName, SessionRegistry } from "./uploadSessions";
import { siteFromSpec, Tenant, type EmulatedDrive } from "./tenant";
import type { DriveBehaviourOptions, DriveType, EmulatedUserSpec, GraphPrincipal, OneDriveEmulator, OneDriveEmulatorOptions, RecordedRequest } from "./types";

export type * from "./types";
export { QuickXorHash, quickXorHashBase64 } from "./quickXorHash";
export { MAX_FRAGMENT_BYTES, FRAGMENT_ALIGNMENT_BYTES } from "./uploadRoutes";

const DEFAULT_ACCESS_TOKEN = "emulator-access-token";
const DEFAULT_SIMPLE_UPLOAD_LIMIT = 4 * 1024 * 1024;
const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60 * 1000;
const DEFAULT_QUOTA_BYTES = 2 ** 40;
const DEFAULT_USER: EmulatedUserSpec = { id: "00000000-0000-4000-8000-000000000001", userPrincipalName: "user@emulator.invalid", displayName: "Emulator User" };

/**
 * Starts the HTTPS emulator of the Graph drive API (graphEndpoint) and of the upload host that uploadUrls point
 * at (uploadOrigin, a different origin, as in the real service). Behaviour follows docs/onedrive-upload.md.
 */
export async function startOneDriveEmulator(options: OneDriveEmulatorOptions = {}): Promise<OneDriveEmulator> {
  checkDriveBehaviour(options.driveType ?? "personal", options);
  const defaultUser = options.defaultUser ?? DEFAULT_USER;
  const users = [defaultUser, ...(options.users ?? [])];
  const sites = (options.sites ?? []).map(siteFromSpec);
  // Checked before any server listens, so a refused spec leaves no server behind.
  for (const spec of options.drives ?? []) {
    checkDriveBehaviour(spec.driveType ?? (spec.siteId === undefined ? "personal" : "documentLibrary"), spec);
    if (spec.siteId !== undefined && !sites.some((site) => site.id === spec.siteId)) throw new Error(`drive ${spec.id}: siteId ${spec.siteId} is not one of the sites`);
    if (spec.ownerUserId !== undefined && !users.some((user) => user.id === spec.ownerUserId)) throw new Error(`drive ${spec.id}: ownerUserId ${spec.ownerUserId} is not one of the users`);
    if ((spec.siteId === undefined) === (spec.ownerUserId === undefined)) throw new Error(`drive ${spec.id}: give either ownerUserId (a user's OneDrive) or siteId (a library)`);
  }
  const driveIds = (options.drives ?? []).map((spec) => spec.id);
  if (new Set(driveIds).size !== driveIds.length) throw new Error(`drive ids must be unique: ${driveIds.join(", ")}`);
  const owners = [defaultUser.id, ...(options.drives ?? []).flatMap((spec) => (spec.ownerUserId === undefined ? [] : [spec.ownerUserId]))];
  if (new Set(owners).size !== owners.length) throw new Error("a user has one OneDrive: each ownerUserId once, and never the default user's");
  // Built before any server listens, so a refused fault list leaves no server behind.
  const faults = new FaultPlan(options.faults ?? [], options.seededFaults);
  const certificate = loadTestCertificate();
  const now = options.clock ?? Date.now;
  const latencyMs = options.latencyMs ?? 0;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const stalledExchanges: HttpExchange[] = [];
  const stalled: RecordedRequest[] = [];
  const stallWaiters: { count: number; resolve: (records: RecordedRequest[]) => void }[] = [];
  const onStalled = (exchange: HttpExchange): void => {
    stalledExchanges.push(exchange);
    stalled.push(exchange.record);
    for (const waiter of stallWaiters.filter((candidate) => stalled.length >= candidate.count)) {
      stallWaiters.splice(stallWaiters.indexOf(waiter), 1);
      waiter.resolve([...stalled]);
    }
  };

  const newServer = (): Server => {
    const server = createServer({ key: certificate.keyPem, cert: certificate.certPem });
    // Node answers 408 to a request whose body has not all arrived after 5 minutes; a stall with an unread body
    // must stay silent however long the test holds it.
    server.requestTimeout = 0;
    server.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    server.on("clientError", (_error, socket) => socket.destroy());
    return server;
  };
  const graphServer = newServer();
  const uploadServer = newServer();
  const graphPort = await listen(graphServer);
  const uploadPort = await listen(uploadServer);
  const graphEndpoint = `https://localhost:${graphPort}`;
  const uploadOrigin = `https://127.0.0.1:${uploadPort}`;

  const storeContent = options.storeContent ?? true;
  const buildDrive = (behaviour: DriveBehaviourOptions, fields: { id?: string; name: string; driveType: DriveType; ownerUserId?: string; siteId?: string; urlSegment?: string }): EmulatedDrive => {
    const rewrites = rewritePredicate(fields.driveType, behaviour.rewriteOnCommit);
    const store = new DriveStore(fields.driveType, behaviour.quotaBytes ?? DEFAULT_QUOTA_BYTES, now, behaviour.hashMissingForGets ?? 0, fields.id);
    const sessions = new SessionRegistry(store, uploadOrigin, { now, idleTimeoutMs: options.sessionIdleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, storeContent, rewrites });
    const library = new LibraryPolicies(behaviour.library ?? {}, store, now);
    store.afterUploadWrite = (item) => library.uploadWritten(item);
    const site = fields.siteId === undefined ? undefined : sites.find((candidate) => candidate.id === fields.siteId);
    const owner = users.find((user) => user.id === fields.ownerUserId);
    const webUrl =
      site !== undefined
        ? `${site.webUrl}/${encodeURIComponent(fields.urlSegment ?? "Shared Documents")}`
        : fields.driveType === "personal"
          ? `https://onedrive.live.com/?cid=${store.driveId.replace(/^b!/, "")}`
          : `https://emulator-my.sharepoint.com/personal/${(owner?.userPrincipalName ?? "user").replace(/[@.]/g, "_")}/Documents`;
    return { id: store.driveId, name: fields.name, driveType: fields.driveType, webUrl, ownerUserId: fields.ownerUserId, siteId: fields.siteId, store, sessions, library, business: fields.driveType !== "personal", rewrites };
  };
  const defaultDrive = buildDrive(options, { name: "OneDrive", driveType: options.driveType ?? "personal", ownerUserId: defaultUser.id });
  const drives = [
    defaultDrive,
    ...(options.drives ?? []).map((spec) =>
      buildDrive(spec, {
        id: spec.id,
        name: spec.name ?? (spec.siteId === undefined ? "OneDrive" : "Documents"),
        driveType: spec.driveType ?? (spec.siteId === undefined ? "personal" : "documentLibrary"),
        ownerUserId: spec.ownerUserId,
        siteId: spec.siteId,
        urlSegment: spec.urlSegment,
      }),
    ),
  ];
  const tenant = new Tenant(users, sites, drives);
  const fixedToken = options.accessToken ?? DEFAULT_ACCESS_TOKEN;
  const fixedPrincipal: GraphPrincipal = { kind: "delegated", userId: defaultUser.id, scopes: ["Files.ReadWrite"] };
  const store = defaultDrive.store;
  const context: EmulatorContext = {
    tenant,
    drive: defaultDrive,
    principals: (token) => (token === fixedToken ? fixedPrincipal : options.principals?.(token)),
    store,
    sessions: defaultDrive.sessions,
    faults,
    throttling: new ThrottleState(options.throttleScope ?? "request", now),
    accessToken: fixedToken,
    business: defaultDrive.business,
    simpleUploadLimitBytes: options.simpleUploadLimitBytes ?? DEFAULT_SIMPLE_UPLOAD_LIMIT,
    storeContent,
    now,
    graphEndpoint,
    jsonBatching: options.jsonBatching ?? true,
    rewrites: defaultDrive.rewrites,
    library: defaultDrive.library,
    requests,
    uploadAuthorization: { tolerate: options.tolerateAuthorizationOnUploadUrls ?? false, toleratedCount: 0 },
  };

  const serve = (origin: "graph" | "upload") => (req: IncomingMessage, res: ServerResponse) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    const record: RecordedRequest = {
      origin,
      method: req.method ?? "GET",
      url: req.url ?? "/",
      headers,
      bodyLength: 0,
      status: 0,
      startedAt: now(),
    };
    requests.push(record);
    const exchange = new HttpExchange(req, res, record, latencyMs, now, onStalled);
    const handler = origin === "graph" ? handleGraphRequest : handleUploadRequest;
    handler(exchange, context).catch(async (error: unknown) => {
      await exchange.sendError(toServiceError(error)).catch(() => exchange.drop());
    });
  };
  graphServer.on("request", serve("graph"));
  uploadServer.on("request", serve("upload"));

  const storeOf = (driveId: string | undefined): DriveStore => {
    if (driveId === undefined) return store;
    const drive = drives.find((candidate) => candidate.id === driveId);
    if (drive === undefined) throw new Error(`no drive ${driveId} in the emulator`);
    return drive.store;
  };

  return {
    graphEndpoint,
    uploadOrigin,
    accessToken: context.accessToken,
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
    addFaults: (faults) => context.faults.add(faults),
    putFile: (path, content, fileOptions) => {
      const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
      const times = { lastModifiedDateTime: fileOptions?.lastModifiedDateTime };
      return store.snapshot(store.seedFile(path, bytes, storeContent, times));
    },
    getItem: (path, driveId) => {
      const driveStore = storeOf(driveId);
      const item = driveStore.lookupPath(path);
      return item === undefined ? undefined : driveStore.snapshot(item);
    },
    listTree: (driveId) => storeOf(driveId).listTree(),
    defaultDriveId: defaultDrive.id,
    sites,
    openSessions: () => drives.flatMap((drive) => drive.sessions.list()),
    stalled,
    waitForStalled: (count = 1) =>
      stalled.length >= count
        ? Promise.resolve([...stalled])
        : new Promise<RecordedRequest[]>((resolve) => stallWaiters.push({ count, resolve })),
    dropStalled: () => {
      const open = stalledExchanges.splice(0);
      for (const exchange of open) exchange.drop();
      return open.length;
    },
    checkinComments: (path, driveId) => {
      const drive = driveId === undefined ? defaultDrive : drives.find((candidate) => candidate.id === driveId);
      const item = drive?.store.lookupPath(path);
      return drive === undefined || item === undefined ? [] : drive.library.checkinComments(item);
    },
    rateLimitedCount: () => drives.reduce((total, drive) => total + drive.library.rateLimitedCount, 0),
    throttledCounts: () => context.throttling.snapshot(),
    toleratedUploadAuthorizations: () => context.uploadAuthorization.toleratedCount,
    close: async () => {
      const closed = Promise.all([closeServer(graphServer), closeServer(uploadServer)]);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Drive-level options a drive of this type cannot have are refused before any server starts. */
function checkDriveBehaviour(driveType: DriveType, behaviour: DriveBehaviourOptions): void {
  const hashMissingForGets = behaviour.hashMissingForGets ?? 0;
  if (!Number.isSafeInteger(hashMissingForGets) || hashMissingForGets < 0) {
    throw new Error(`hashMissingForGets must be a whole number >= 0, not ${hashMissingForGets}`);
  }
  if (hashMissingForGets > 0 && driveType === "personal") {
    throw new Error("hashMissingForGets is a business-drive habit: use driveType \"business\" or \"documentLibrary\"");
  }
  rewritePredicate(driveType, behaviour.rewriteOnCommit);
  LibraryPolicies.validate(driveType, behaviour.library);
}

/** Which uploaded names the drive rewrites; refuses a rewrite on a personal drive, which never does it. */
function rewritePredicate(driveType: string, option: OneDriveEmulatorOptions["rewriteOnCommit"]): (name: string) => boolean {
  if (option === undefined || option === false) return () => false;
  if (driveType === "personal") {
    throw new Error("rewriteOnCommit: a personal drive never rewrites uploaded files; use driveType \"business\" or \"documentLibrary\"");
  }
  return option === true ? isDocumentedRewriteName : option;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
