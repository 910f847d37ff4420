import { ServiceError } from "./exchange";

/** OneDrive / SharePoint naming rules (doc section 7), checked on every create and rename. */
const FORBIDDEN_CHARACTERS = /["*:<>?/\\|]/;
const RESERVED_NAMES = new Set([
  ".lock",
  "con",
  "prn",
  "aux",
  "nul",
  "desktop.ini",
  ...Array.from({ length: 10 }, (_, digit) => `com${digit}`),
  ...Array.from({ length: 10 }, (_, digit) => `lpt${digit}`),
]);
/** The whole decoded path must be under this many characters. */
export const MAX_PATH_CHARACTERS = 400;

export function nameProblem(name: string, options: { isFolder: boolean; business: boolean }): string | undefined {
  if (name === "") return "the name is empty";
  const forbidden = FORBIDDEN_CHARACTERS.exec(name);
  if (forbidden) return `the name contains the forbidden character '${forbidden[0]}'`;
  if (name.startsWith(" ") || name.endsWith(" ")) return "the name starts or ends with a space";
  if (name.endsWith(".")) return "the name ends with a dot";
  if (RESERVED_NAMES.has(name.toLowerCase())) return `'${name}' is a reserved name`;
  if (name.startsWith("~$")) return "names starting with '~$' are reserved";
  if (name.toLowerCase().includes("_vti_")) return "'_vti_' may not appear in a name";
  if (options.business && options.isFolder && name.startsWith("~")) return "SharePoint folder names cannot start with '~'";
  return undefined;
}

/** Throws the service's 400 for a bad name or an over-long path; fullPath is the decoded path from the root. */
export function assertCreatableName(name: string, fullPath: string, options: { isFolder: boolean; business: boolean }): void {
  const problem = nameProblem(name, options);
  if (problem !== undefined) {
    throw new ServiceError(400, "invalidRequest", `The provided name '${name}' is not allowed: ${problem}.`, "invalidPath");
  }
  if (fullPath.length >= MAX_PATH_CHARACTERS) {
    throw new ServiceError(
      400,
      "invalidRequest",
      `The path is ${fullPath.length} characters long; it must be under ${MAX_PATH_CHARACTERS}.`,
      "pathIsTooLong",
    );
  }
}
