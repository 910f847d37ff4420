/**
 * OneDrive / SharePoint naming rules (https://support.microsoft.com/office/64883a5d-228e-48f5-b3d2-eb39e07630fa),
 * checked before any request so a bad name fails with a sentence the operator can act on rather than a 400
 * `invalidPath` after the bytes were read. Every segment is checked, folders included.
 */

/** The whole decoded path, file name included, must be under this many characters. */
export const MAX_PATH_LENGTH = 400;

const FORBIDDEN_CHARACTERS = ['"', "*", ":", "<", ">", "?", "\\", "|"];
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

/**
 * The first rule `relativePath` ("a/b/c.txt") breaks, as a sentence; undefined when OneDrive accepts it.
 * `driveLocationPath` is where the drive root sits in SharePoint ("/sites/Finance/Shared Documents"): the length
 * rule counts the whole decoded path, that part included.
 */
export function checkOneDrivePath(relativePath: string, driveLocationPath = ""): string | undefined {
  if (relativePath === "") return "the path is empty";
  const location = driveLocationPath.replace(/^\/+|\/+$/g, "");
  const wholeLength = location === "" ? relativePath.length : location.length + 1 + relativePath.length;
  if (wholeLength >= MAX_PATH_LENGTH) {
    if (location === "") return `the path is ${relativePath.length} characters; OneDrive allows under ${MAX_PATH_LENGTH}`;
    return (
      `the path is ${wholeLength} characters counted as SharePoint counts it, from the site and library ("${location}/…"); ` +
      `the rule is a whole decoded path under ${MAX_PATH_LENGTH} characters`
    );
  }
  for (const segment of relativePath.split("/")) {
    const violation = checkName(segment);
    if (violation) return violation;
  }
  return undefined;
}

/** The first rule a single file or folder name breaks. */
export function checkName(name: string): string | undefined {
  if (name === "") return "the path has an empty segment (a leading, trailing or doubled '/')";
  for (const character of FORBIDDEN_CHARACTERS) {
    if (name.includes(character)) return `name '${name}' contains '${character}' which OneDrive does not allow`;
  }
  if (RESERVED_NAMES.has(name.toLowerCase())) return `name '${name}' is reserved by OneDrive`;
  if (name.startsWith("~$")) return `name '${name}' starts with '~$', which OneDrive reserves for Office lock files`;
  if (name.toLowerCase().includes("_vti_")) return `name '${name}' contains '_vti_', which OneDrive does not allow anywhere in a name`;
  if (name.startsWith(" ")) return `name '${name}' starts with a space, which OneDrive does not allow`;
  if (name.endsWith(" ")) return `name '${name}' ends with a space, which OneDrive does not allow`;
  if (name.endsWith(".")) return `name '${name}' ends with '.', which OneDrive does not allow`;
  return undefined;
}

/**
 * Percent-encodes each segment on its own (space → %20, '#' → %23, '%' → %25, '?' → %3F, unicode as UTF-8), never
 * the path as a whole, so the '/' separators stay.
 */
export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}
