import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { SettingsSource } from "../config/settings";

/**
 * The CLI reads the same settings as the function app: the `Values` of local.settings.json (when present in the
 * working directory), overridden by the environment.
 */
export function cliSettingsSource(env: NodeJS.ProcessEnv = process.env, file = resolve("local.settings.json")): SettingsSource {
  if (!existsSync(file)) return env;
  let values: Record<string, unknown>;
  try {
    values = (JSON.parse(readFileSync(file, "utf8")) as { Values?: Record<string, unknown> }).Values ?? {};
  } catch (error) {
    throw new Error(`local.settings.json is not valid JSON (${(error as Error).message}); fix it or remove it`);
  }
  const merged: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(values)) if (typeof value === "string") merged[name] = value;
  for (const [name, value] of Object.entries(env)) if (value !== undefined) merged[name] = value;
  return merged;
}
