import { test } from "node:test";
import assert from "node:assert/strict";
import { loadEngineSettings, SettingsError } from "../../functions/config/settings";
import { destinationDriveKey } from "../../functions/config/destinationDriveSetting";
import { checkOneDrivePath } from "../../functions/onedrive/pathRules";
import { destinationDisplay } from "../../functions/onedrive/destinationDrive";

const destDrive = (value: string | undefined) => loadEngineSettings(value === undefined ? {} : { DEST_DRIVE: value }).destDrive;

test("DEST_DRIVE defaults to me and takes drive: and user: forms", () => {
  assert.deepEqual(destDrive(undefined), { kind: "me" });
  assert.deepEqual(destDrive(" ME "), { kind: "me" });
  assert.deepEqual(destDrive("drive:b!AbC-12_x"), { kind: "drive", driveId: "b!AbC-12_x" });
  assert.deepEqual(destDrive("user:jane@contoso.com"), { kind: "user", user: "jane@contoso.com" });
  assert.deepEqual(destDrive("User:5f1c0c5e-0000-4000-8000-000000000001"), { kind: "user", user: "5f1c0c5e-0000-4000-8000-000000000001" });
});

test("a library URL is accepted as a browser shows it: spaces or %20, a trailing slash, a view page", () => {
  const expected = {
    kind: "library",
    hostname: "contoso.sharepoint.com",
    sitePath: "/sites/Finance",
    libraryPath: "/sites/Finance/Shared Documents",
  };
  for (const url of [
    "https://contoso.sharepoint.com/sites/Finance/Shared Documents",
    "https://contoso.sharepoint.com/sites/Finance/Shared%20Documents",
    "https://contoso.sharepoint.com/sites/Finance/Shared%20Documents/",
    "https://Contoso.SharePoint.com/sites/Finance/Shared%20Documents/Forms/AllItems.aspx",
    "https://contoso.sharepoint.com/sites/Finance/Shared%20Documents/Forms/AllItems.aspx?viewid=1234&id=%2Fsites%2FFinance",
  ]) {
    const { url: given, ...rest } = destDrive(url) as { url: string };
    assert.deepEqual(rest, expected, url);
    assert.equal(given, url);
  }
  assert.equal(destinationDriveKey(destDrive("https://contoso.sharepoint.com/sites/Finance/Shared Documents")), destinationDriveKey(destDrive("https://CONTOSO.sharepoint.com/sites/finance/Shared%20Documents/Forms/AllItems.aspx")), "one cache row per library");
});

test("a library of the root site or a subsite splits the site from the library at the last segment", () => {
  assert.deepEqual(destDrive("https://contoso.sharepoint.com/Shared%20Documents"), { kind: "library", url: "https://contoso.sharepoint.com/Shared%20Documents", hostname: "contoso.sharepoint.com", sitePath: "", libraryPath: "/Shared Documents" });
  const subsite = destDrive("https://contoso.sharepoint.com/sites/Finance/EMEA/Invoices") as { sitePath: string; libraryPath: string };
  assert.deepEqual([subsite.sitePath, subsite.libraryPath], ["/sites/Finance/EMEA", "/sites/Finance/EMEA/Invoices"]);
});

test("bad DEST_DRIVE values name the setting, what is wrong, and the accepted forms", () => {
  const problemFor = (value: string): string => {
    try {
      loadEngineSettings({ DEST_DRIVE: value });
    } catch (error) {
      assert.ok(error instanceof SettingsError);
      assert.equal(error.problems.length, 1);
      return error.problems[0];
    }
    assert.fail(`${value} was accepted`);
  };
  assert.match(problemFor("Finance"), /^DEST_DRIVE is "Finance", which names no drive: use me .*drive:<drive id>, user:<UPN or object id> .*https:\/\/contoso\.sharepoint\.com\/sites\/Finance\/Shared Documents\.$/);
  assert.match(problemFor("drive:"), /^DEST_DRIVE is "drive:", whose drive: part is not a drive id/);
  assert.match(problemFor("user:jane doe@contoso.com"), /^DEST_DRIVE is "user:jane doe@contoso\.com", whose user: part is not a user principal name/);
  assert.match(problemFor("http://contoso.sharepoint.com/sites/Finance/Shared Documents"), /not an https:\/\/ URL/);
  assert.match(problemFor("https://onedrive.live.com/?id=root"), /a personal OneDrive address, not a SharePoint document library: use me/);
  assert.match(problemFor("https://contoso.sharepoint.com/:f:/s/Finance/EabcdEF"), /not the address of a document library: .*sharing links/);
  assert.match(problemFor("https://contoso.sharepoint.com/sites/Finance/_layouts/15/viewlsts.aspx"), /not the address of a document library/);
  assert.match(problemFor("https://contoso.sharepoint.com/"), /not the address of a document library/);
});

test("the path rule counts the drive's SharePoint location, and says so", () => {
  const location = "/sites/Finance/Shared Documents";
  const inside = `${"a".repeat(100)}/${"b".repeat(267)}`;
  // "sites/Finance/Shared Documents" + "/" + the path inside the library.
  assert.equal(30 + 1 + inside.length, 399);
  assert.equal(checkOneDrivePath(inside, location), undefined, "399 characters with the location: allowed");
  assert.equal(checkOneDrivePath(`${inside}x`, location), 'the path is 400 characters counted as SharePoint counts it, from the site and library ("sites/Finance/Shared Documents/…"); the rule is a whole decoded path under 400 characters');
  assert.equal(checkOneDrivePath(`${inside}x`), undefined, "the same path fits a personal drive");
});

test("the destination reads site › library › folder", () => {
  assert.equal(destinationDisplay({ driveDisplay: "Finance › Documents" }, "From Azure"), "Finance › Documents › From Azure");
  assert.equal(destinationDisplay({ driveDisplay: "OneDrive (me)" }, "Backups/Blobs"), "OneDrive (me) › Backups › Blobs");
  assert.equal(destinationDisplay({ driveDisplay: "OneDrive of jane@contoso.com" }, ""), "OneDrive of jane@contoso.com › (root)");
});
