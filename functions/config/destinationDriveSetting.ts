/** What of settings.ts's SettingsReader this module uses (named here so the two modules do not import each other). */
interface SettingsReader {
  raw(name: string): string | undefined;
  problem(name: string, what: string, fix: string): void;
}

/**
 * DEST_DRIVE as the operator wrote it, parsed but not yet resolved against Graph (a library URL becomes a drive id
 * only by asking Graph; see functions/onedrive/destinationDrive.ts).
 */
export type DestinationDriveSetting =
  | { kind: "me" }
  | { kind: "drive"; driveId: string }
  | { kind: "user"; user: string }
  | {
      kind: "library";
      /** The URL as given, for messages and as the cache key's source. */
      url: string;
      /** Lowercased: host names are case-insensitive. */
      hostname: string;
      /** Decoded server-relative path of the site ("/sites/Finance"); "" for the tenant's root site. */
      sitePath: string;
      /** Decoded server-relative path of the library ("/sites/Finance/Shared Documents"). */
      libraryPath: string;
    };

const NAME = "DEST_DRIVE";

export const DEST_DRIVE_FORMS =
  "use me (your own OneDrive), drive:<drive id>, user:<UPN or object id> (that user's OneDrive), or the URL of a SharePoint document library as the browser shows it, such as https://contoso.sharepoint.com/sites/Finance/Shared Documents";

/** The path the browser adds when it shows a library's default view: /Forms/AllItems.aspx (or another view). */
const LIBRARY_VIEW_SUFFIX = /\/Forms\/[^/]+\.aspx$/i;
/** Hosts of consumer OneDrive, whose URLs name no SharePoint library. */
const CONSUMER_ONEDRIVE_HOSTS = new Set(["onedrive.live.com", "1drv.ms", "d.docs.live.net"]);

export function readDestinationDrive(reader: SettingsReader): DestinationDriveSetting {
  const text = reader.raw(NAME);
  if (text === undefined || text.toLowerCase() === "me") return { kind: "me" };
  const prefixed = /^(drive|user):(.*)$/i.exec(text);
  if (prefixed !== null) {
    const kind = prefixed[1].toLowerCase() as "drive" | "user";
    const value = prefixed[2].trim();
    if (value === "" || /[\s/\\?#]/.test(value)) {
      const what = kind === "drive" ? "a drive id (as GET /me/drive or /sites/{site}/drives reports it)" : "a user principal name (jane@contoso.com) or object id";
      reader.problem(NAME, `is "${text}", whose ${kind}: part is not ${what}`, `put ${what} after "${kind}:", or ${DEST_DRIVE_FORMS}`);
      return { kind: "me" };
    }
    return kind === "drive" ? { kind: "drive", driveId: value } : { kind: "user", user: value };
  }
  if (/^https?:\/\//i.test(text)) return libraryUrl(reader, text);
  reader.problem(NAME, `is "${text}", which names no drive`, DEST_DRIVE_FORMS);
  return { kind: "me" };
}

function libraryUrl(reader: SettingsReader, text: string): DestinationDriveSetting {
  let url: URL;
  try {
    // A browser's address bar shows spaces as spaces or as %20; URL accepts both.
    url = new URL(text);
  } catch {
    reader.problem(NAME, `is "${text}", which is not a URL`, DEST_DRIVE_FORMS);
    return { kind: "me" };
  }
  const hostname = url.hostname.toLowerCase();
  if (url.protocol !== "https:") {
    reader.problem(NAME, `is "${text}", which is not an https:// URL`, "copy the library's address from the browser: SharePoint URLs start with https://");
    return { kind: "me" };
  }
  if (CONSUMER_ONEDRIVE_HOSTS.has(hostname)) {
    reader.problem(NAME, `is "${text}", a personal OneDrive address, not a SharePoint document library`, "use me for the signed-in account's OneDrive, or drive:<drive id>");
    return { kind: "me" };
  }
  let segments: string[];
  try {
    segments = url.pathname.replace(LIBRARY_VIEW_SUFFIX, "").split("/").filter((segment) => segment !== "").map(decodeURIComponent);
  } catch {
    reader.problem(NAME, `is "${text}", whose path is not valid percent-encoding`, "copy the library's address from the browser again");
    return { kind: "me" };
  }
  if (segments.length === 0 || segments[0].startsWith(":") || segments.some((segment) => segment.startsWith("_layouts"))) {
    reader.problem(
      NAME,
      `is "${text}", which is not the address of a document library`,
      "open the library in the browser (Site contents › the library) and copy the address up to the library's name, such as https://contoso.sharepoint.com/sites/Finance/Shared Documents; sharing links (/:f:/...) and settings pages do not name a library",
    );
    return { kind: "me" };
  }
  // A library is one URL segment under its site (the site may be a subsite several segments deep).
  const sitePath = segments.length === 1 ? "" : `/${segments.slice(0, -1).join("/")}`;
  return { kind: "library", url: text, hostname, sitePath, libraryPath: `/${segments.join("/")}` };
}

/** The setting in the words it was given, for messages and a summary that did not look the drive up. */
export function destinationDriveText(setting: DestinationDriveSetting): string {
  switch (setting.kind) {
    case "me":
      return "me";
    case "drive":
      return `drive:${setting.driveId}`;
    case "user":
      return `user:${setting.user}`;
    case "library":
      return setting.url;
  }
}

/** A stable text for the setting: the cache key of a resolved library and the way logs name it. */
export function destinationDriveKey(setting: DestinationDriveSetting): string {
  if (setting.kind === "user") return `user:${setting.user.toLowerCase()}`;
  if (setting.kind === "library") return `https://${setting.hostname}${setting.libraryPath.toLowerCase()}`;
  return destinationDriveText(setting);
}
