import assert from "node:assert/strict";
import { test } from "node:test";
import { AppAccessTokenProvider } from "../../functions/auth/appAccessTokenProvider";
import { isRelinkRequiredError } from "../../functions/auth/relinkRequiredError";
import { MSA_TENANT_ID, startIdentityEmulator } from "../emulators/identity/identityEmulator";

const TENANT_ID = "5e5e5e5e-0000-4000-8000-00000000cafe";
const CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000002";

/** Its own process: MSAL picks the managed-identity source once per process, from the environment. */
test("managed-identity outside App Service stops with the setting to use instead", async () => {
  delete process.env.IDENTITY_ENDPOINT;
  delete process.env.IDENTITY_HEADER;
  const identity = await startIdentityEmulator({
    clients: [{ clientId: CLIENT_ID, redirectUris: [], homeTenantId: TENANT_ID, applicationPermissions: ["Sites.Selected"] }],
    user: { username: "nobody@contoso.example", name: "Nobody", oid: "00000000-0000-0000-aaaa-000000000009", tid: MSA_TENANT_ID },
  });
  const provider = new AppAccessTokenProvider(
    {
      clientId: CLIENT_ID,
      tenantId: TENANT_ID,
      authorityHost: identity.origin,
      authority: `${identity.origin}/${TENANT_ID}`,
      graphEndpoint: "https://graph.microsoft.com",
      credential: { kind: "managed-identity" },
    },
    // Without IDENTITY_ENDPOINT MSAL falls back to the VM metadata endpoint, which a developer machine does not answer.
    { requestTimeoutMs: 500 },
  );
  const failure = (await provider.getAccessToken().catch((error: unknown) => error).finally(() => identity.close())) as Error;
  assert.equal(failure.name, "AuthConfigurationError");
  assert.ok(isRelinkRequiredError(failure));
  assert.equal(identity.tokenRequestCount("client_credentials"), 0, "no assertion, no token request");
  assert.match(failure.message, /this host offers no managed identity \(IDENTITY_ENDPOINT is not set; .*\)\. On a developer machine use APP_CREDENTIAL=certificate with CLIENT_CERTIFICATE_FILE/);
});
