/**
 * C0 and C1 controls, DEL and the Unicode line and paragraph separators: each can end or rewrite a log line (a
 * newline starts a forged one, a carriage return or ANSI escape overwrites one on a terminal), and none belongs in a
 * file name a person chose.
 */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** The text with every control character written as `\uXXXX`, so it stays on one line and shows what was there. */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTER, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Why a blob name with control characters is refused, naming each one and its position; undefined when it has none. */
export function controlCharacterProblem(blobName: string): string | undefined {
  const found = [...blobName.matchAll(CONTROL_CHARACTER)].map((match) => `${escapeControlCharacters(match[0])} at ${match.index}`);
  if (found.length === 0) return undefined;
  const listed = found.length > 5 ? `${found.slice(0, 5).join(", ")} and ${found.length - 5} more` : found.join(", ");
  return `the name holds control character${found.length === 1 ? "" : "s"} (${listed}), which the connector does not transfer`;
}
