import type { Pipeline } from "@azure/core-rest-pipeline";

/**
 * The SDK pipelines' formDataPolicy asks every request whether its body is a `FormData`, and on Node 20 the first
 * touch of that global loads Node's fetch implementation (undici): about 25 ms of a CLI run's start, before its
 * first listing. The ledger and the container requests never send form data, so their pipelines go without it.
 */
export function withoutFormDataPolicy<T extends Pipeline | { pipeline: Pipeline }>(target: T): T {
  const pipeline: Pipeline = "pipeline" in target ? target.pipeline : (target as Pipeline);
  pipeline.removePolicy({ name: "formDataPolicy" });
  return target;
}
