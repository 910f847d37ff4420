import { mulberry32 } from "../../support/referenceAlgorithms";
import type { Fault, FaultKind, FaultRequest, SeededFaults } from "./types";

/** What kind of request is asking; the store kinds only make sense for fragment PUTs. */
export type RequestClass = "graph" | "uploadPut" | "uploadGet" | "uploadOther";

const STORE_KINDS: ReadonlySet<FaultKind> = new Set(["serverErrorAfterStore", "dropAfterStore", "storePartialThenDrop"]);
const STALL_KINDS: ReadonlySet<FaultKind> = new Set(["stall", "stallAfterAction"]);
const ALL_KINDS: ReadonlySet<FaultKind> = new Set([...STORE_KINDS, ...STALL_KINDS, "throttle", "transient404", "slowResponse"]);

/** A fault chosen for one request; partialBytes of a seeded storePartialThenDrop is picked per fragment. */
export interface ArmedFault {
  kind: FaultKind;
  status?: number;
  retryAfter?: string;
  partialBytes?: number;
  /** Seeded partial faults keep this fraction (0..1) of the fragment instead of a fixed count. */
  partialFraction?: number;
  delayMs?: number;
  readBody?: boolean;
}

/** Seeded throttles ask for a 1 s wait: long enough to be a real wait, short enough for a benchmark. */
const SEEDED_RETRY_AFTER = "1";
const SEEDED_DELAY_MS = 50;

/**
 * Faults are consumed strictly in order: only the head of the queue is armed, and its `skip` counts matching
 * requests from the moment it became the head. Seeded faults apply to fragment PUTs that no queued fault hit.
 */
export class FaultPlan {
  private readonly queue: Fault[] = [];
  private headSkipped = 0;
  private readonly random: (() => number) | undefined;
  private seededInjected = 0;

  constructor(
    faults: Fault[],
    private readonly seeded: SeededFaults | undefined,
  ) {
    this.add(faults);
    if (seeded !== undefined) {
      if (seeded.kinds.length === 0) throw new Error("seededFaults.kinds must name at least one fault kind");
      for (const kind of seeded.kinds) {
        assertKind(kind);
        // A seeded run must finish on its own; a stall waits for the test to end it.
        if (STALL_KINDS.has(kind)) throw new Error(`seededFaults cannot inject '${kind}': a stall never ends by itself`);
      }
      this.random = mulberry32(seeded.seed);
    }
  }

  add(faults: Fault[]): void {
    for (const fault of faults) {
      assertKind(fault.kind);
      if (STORE_KINDS.has(fault.kind) && (fault.target === "graph" || fault.target === "uploadGet")) {
        throw new Error(`A ${fault.kind} fault stores fragment bytes, so it can only target "uploadPut" or "any"`);
      }
      if (fault.kind === "storePartialThenDrop" && (fault.partialBytes === undefined || fault.partialBytes < 0)) {
        throw new Error("A storePartialThenDrop fault needs partialBytes >= 0");
      }
      if (fault.kind === "stallAfterAction" && fault.readBody === false) {
        throw new Error("A stallAfterAction fault acts on the request, which reads its body; readBody: false only fits 'stall'");
      }
      this.queue.push({ ...fault });
    }
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Called once per request on arrival; returns the fault to apply, if any. */
  take(requestClass: RequestClass, request: FaultRequest): ArmedFault | undefined {
    const head = this.queue[0];
    if (head !== undefined && matches(head, requestClass, request)) {
      if (this.headSkipped < (head.skip ?? 0)) {
        this.headSkipped += 1;
      } else {
        this.queue.shift();
        this.headSkipped = 0;
        const { match: _match, target: _target, skip: _skip, ...armed } = head;
        return armed;
      }
    }
    if (requestClass === "uploadPut") return this.takeSeeded();
    return undefined;
  }

  private takeSeeded(): ArmedFault | undefined {
    const seeded = this.seeded;
    const random = this.random;
    if (seeded === undefined || random === undefined) return undefined;
    if (seeded.maxFaults !== undefined && this.seededInjected >= seeded.maxFaults) return undefined;
    // Draw the same numbers whatever the outcome, so a run depends only on the seed and the request sequence.
    const hit = random() < seeded.probability;
    const kind = seeded.kinds[Math.floor(random() * seeded.kinds.length)];
    const fraction = random();
    if (!hit) return undefined;
    this.seededInjected += 1;
    switch (kind) {
      case "throttle":
        return { kind, status: 429, retryAfter: SEEDED_RETRY_AFTER };
      case "serverErrorAfterStore":
        return { kind, status: 500 };
      case "storePartialThenDrop":
        return { kind, partialFraction: fraction };
      case "slowResponse":
        return { kind, delayMs: SEEDED_DELAY_MS };
      default:
        return { kind };
    }
  }
}

function matches(fault: Fault, requestClass: RequestClass, request: FaultRequest): boolean {
  const classMatches = STORE_KINDS.has(fault.kind) ? requestClass === "uploadPut" : fault.target === "any" || fault.target === requestClass;
  return classMatches && (fault.match === undefined || fault.match(request));
}

function assertKind(kind: FaultKind): void {
  if (!ALL_KINDS.has(kind)) throw new Error(`Unknown fault kind '${String(kind)}'`);
}

