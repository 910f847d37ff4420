import assert from "node:assert/strict";
import { createHash, createPrivateKey, randomUUID, sign, X509Certificate, constants } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ConfidentialClientApplication, ManagedIdentityApplication } from "@azure/msal-node";
import { generate } from "selfsigned";
import { loadTestCertificate } from "../../support/testCertificate";
import { IdentityEmulator, MSA_TENANT_ID, startIdentityEmulator } from "./identityEmulator";

const TENANT_ID = "72f9a6b1-0000-4000-8000-00000000aaaa";
const GRAPH = "https://graph.microsoft.com";
const EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";
const FUNCTION_IDENTITY = { clientId: "0d0d0d0d-1111-4000-8000-000000000001", principalId: "0e0e0e0e-2222-4000-8000-000000000002", tenantId: TENANT_ID };
const OTHER_IDENTITY = { clientId: "0d0d0d0d-1111-4000-8000-000000000003", principalId: "0e0e0e0e-2222-4000-8000-000000000004", tenantId: TENANT_ID };
const OWNER = { username: "owner@contoso.example", name: "Olivia Owner", oid: "00000000-0000-0000-aaaa-000000000001", tid: MSA_TENANT_ID };

interface TokenAnswer {
  status: number;
  body: { access_token?: string; refresh_token?: string; error?: string; error_codes?: number[]; error_description?: string };
}

const base64Url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function signAssertion(header: Record<string, unknown>, claims: Record<string, unknown>, keyPem: string): string {
  const input = `${base64Url(header)}.${base64Url(claims)}`;
  const pss = header.alg === "PS256" ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : {};
  return `${input}.${sign("sha256", Buffer.from(input), { key: createPrivateKey(keyPem), ...pss }).toString("base64url")}`;
}

describe("identity emulator: app-only credentials", () => {
  let identity: IdentityEmulator;
  const certificate = loadTestCertificate();
  const der = new X509Certificate(certificate.certPem).raw;
  const x5tS256 = createHash("sha256").update(der).digest("base64url");
  const certificateApp = { clientId: "aaaaaaaa-0000-4000-8000-000000000001", redirectUris: [], homeTenantId: TENANT_ID, certificates: [certificate.certPem], applicationPermissions: ["Files.ReadWrite.All"] };
  const federatedApp = {
    clientId: "aaaaaaaa-0000-4000-8000-000000000002",
    redirectUris: [],
    homeTenantId: TENANT_ID,
    applicationPermissions: ["Sites.Selected"],
    federatedCredentials: [] as Array<{ issuer: string; subject: string; audiences: string[] }>,
  };
  const tokenEndpoint = () => `${identity.origin}/${TENANT_ID}/oauth2/v2.0/token`;
  const post = async (form: Record<string, string>, tenant = TENANT_ID): Promise<TokenAnswer> => {
    const response = await fetch(`${identity.origin}/${tenant}/oauth2/v2.0/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", scope: `${GRAPH}/.default`, client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", ...form }).toString(),
    });
    return { status: response.status, body: (await response.json()) as TokenAnswer["body"] };
  };
  const certificateAssertion = (overrides: { header?: Record<string, unknown>; claims?: Record<string, unknown>; keyPem?: string } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return signAssertion(
      { alg: "PS256", typ: "JWT", "x5t#S256": x5tS256, ...overrides.header },
      { aud: tokenEndpoint(), iss: certificateApp.clientId, sub: certificateApp.clientId, jti: randomUUID(), nbf: now, exp: now + 600, ...overrides.claims },
      overrides.keyPem ?? certificate.keyPem,
    );
  };
  const managedIdentityToken = async (clientId: string, resource = EXCHANGE_AUDIENCE, header = identity.managedIdentity!.header) => {
    const url = `${identity.managedIdentity!.endpoint}?${new URLSearchParams({ "api-version": "2019-08-01", resource, client_id: clientId }).toString()}`;
    const response = await fetch(url, { headers: { "X-IDENTITY-HEADER": header } });
    return { status: response.status, body: (await response.json()) as { access_token?: string; expires_on?: string; client_id?: string; message?: string } };
  };

  before(async () => {
    identity = await startIdentityEmulator({ clients: [certificateApp, federatedApp], user: OWNER, managedIdentities: [FUNCTION_IDENTITY, OTHER_IDENTITY] });
    federatedApp.federatedCredentials.push({ issuer: identity.managedIdentity!.issuerFor(TENANT_ID), subject: FUNCTION_IDENTITY.principalId, audiences: [EXCHANGE_AUDIENCE] });
  });
  after(() => identity.close());

  test("a certificate assertion (PS256, x5t#S256) gets an app token whose roles are the consented permissions", async () => {
    const answer = await post({ client_id: certificateApp.clientId, client_assertion: certificateAssertion() });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.refresh_token, undefined, "client credentials never return a refresh token");
    assert.deepEqual(identity.describeAccessToken(answer.body.access_token ?? ""), { kind: "app", appId: certificateApp.clientId, tenantId: TENANT_ID, roles: ["Files.ReadWrite.All"] });
    assert.equal(identity.describeAccessToken("not-a-token-it-issued"), undefined);
  });

  test("RS256 with a SHA-1 x5t, as older clients send, is accepted too", async () => {
    const x5t = createHash("sha1").update(der).digest("base64url");
    const answer = await post({ client_id: certificateApp.clientId, client_assertion: certificateAssertion({ header: { alg: "RS256", "x5t#S256": undefined, x5t } }) });
    assert.equal(answer.status, 200);
  });

  test("certificate assertions are checked as Entra checks them", async () => {
    const now = Math.floor(Date.now() / 1000);
    const other = await generate([{ name: "commonName", value: "not-registered" }], { keySize: 2048, algorithm: "sha256" });
    const otherThumbprint = createHash("sha256").update(new X509Certificate(other.cert).raw).digest("base64url");
    const cases: Array<[string, string, number]> = [
      ["audience is another tenant's endpoint", certificateAssertion({ claims: { aud: `${identity.origin}/common/oauth2/v2.0/token` } }), 700023],
      ["expired", certificateAssertion({ claims: { nbf: now - 1200, exp: now - 600 } }), 700024],
      ["not yet valid", certificateAssertion({ claims: { nbf: now + 600, exp: now + 1200 } }), 700024],
      ["subject is not the client", certificateAssertion({ claims: { sub: "someone-else" } }), 700021],
      ["no jti", certificateAssertion({ claims: { jti: undefined } }), 50027],
      ["unregistered certificate", certificateAssertion({ header: { "x5t#S256": otherThumbprint }, keyPem: other.private }), 700027],
      ["registered thumbprint, signed by another key", certificateAssertion({ keyPem: other.private }), 700027],
      ["not a JWT", "abc.def", 50027],
    ];
    for (const [label, assertion, code] of cases) {
      const answer = await post({ client_id: certificateApp.clientId, client_assertion: assertion });
      assert.deepEqual([answer.status, answer.body.error, answer.body.error_codes], [401, "invalid_client", [code]], label);
    }
  });

  test("the grant needs the app's own tenant and a single /.default scope of a known resource", async () => {
    const onCommon = await post({ client_id: certificateApp.clientId, client_assertion: certificateAssertion({ claims: { aud: `${identity.origin}/common/oauth2/v2.0/token` } }) }, "common");
    assert.deepEqual([onCommon.status, onCommon.body.error_codes], [400, [700016]]);
    const delegatedScope = await post({ client_id: certificateApp.clientId, client_assertion: certificateAssertion(), scope: "Files.ReadWrite.All" });
    assert.deepEqual([delegatedScope.body.error, delegatedScope.body.error_codes], ["invalid_scope", [1002012]]);
    const unknownResource = await post({ client_id: certificateApp.clientId, client_assertion: certificateAssertion(), scope: "https://unknown.example/.default" });
    assert.deepEqual(unknownResource.body.error_codes, [500011]);
    const noCredential = await post({ client_id: certificateApp.clientId });
    assert.deepEqual([noCredential.status, noCredential.body.error_codes], [401, [7000218]]);
  });

  test("the managed-identity endpoint answers as App Service does, only with the identity header", async () => {
    const granted = await managedIdentityToken(FUNCTION_IDENTITY.clientId);
    assert.equal(granted.status, 200);
    assert.equal(granted.body.client_id, FUNCTION_IDENTITY.clientId);
    assert.match(granted.body.expires_on ?? "", /^\d+$/);
    const claims = JSON.parse(Buffer.from((granted.body.access_token ?? "").split(".")[1], "base64url").toString()) as Record<string, unknown>;
    assert.deepEqual([claims.sub, claims.aud, claims.iss], [FUNCTION_IDENTITY.principalId, EXCHANGE_AUDIENCE, identity.managedIdentity!.issuerFor(TENANT_ID)]);
    assert.equal((await managedIdentityToken(FUNCTION_IDENTITY.clientId, EXCHANGE_AUDIENCE, "wrong-header")).status, 401);
    assert.equal((await managedIdentityToken("99999999-0000-4000-8000-000000000000")).status, 400);
    const noSystemIdentity = await fetch(`${identity.managedIdentity!.endpoint}?api-version=2019-08-01&resource=${encodeURIComponent(EXCHANGE_AUDIENCE)}`, { headers: { "X-IDENTITY-HEADER": identity.managedIdentity!.header } });
    assert.equal(noSystemIdentity.status, 400, "only user-assigned identities are configured, so a request without client_id finds none");
    const oldApi = await fetch(`${identity.managedIdentity!.endpoint}?api-version=2017-09-01&resource=x&client_id=${FUNCTION_IDENTITY.clientId}`, { headers: { "X-IDENTITY-HEADER": identity.managedIdentity!.header } });
    assert.equal(oldApi.status, 400);
  });

  test("a federated assertion must match a credential's issuer, subject and audience, and be in date", async () => {
    const good = await managedIdentityToken(FUNCTION_IDENTITY.clientId);
    const accepted = await post({ client_id: federatedApp.clientId, client_assertion: good.body.access_token ?? "" });
    assert.equal(accepted.status, 200);
    assert.deepEqual(identity.describeAccessToken(accepted.body.access_token ?? ""), { kind: "app", appId: federatedApp.clientId, tenantId: TENANT_ID, roles: ["Sites.Selected"] });

    const now = Math.floor(Date.now() / 1000);
    const issuer = identity.managedIdentity!.issuerFor(TENANT_ID);
    const cases: Array<[string, string, number]> = [
      ["another identity of the same app service", (await managedIdentityToken(OTHER_IDENTITY.clientId)).body.access_token ?? "", 700213],
      ["a token for another audience", (await managedIdentityToken(FUNCTION_IDENTITY.clientId, GRAPH)).body.access_token ?? "", 700212],
      ["expired", identity.managedIdentity!.mint({ iss: issuer, sub: FUNCTION_IDENTITY.principalId, aud: EXCHANGE_AUDIENCE, nbf: now - 7200, exp: now - 600 }), 700024],
      ["another issuer", identity.managedIdentity!.mint({ iss: "https://token.actions.githubusercontent.com", sub: FUNCTION_IDENTITY.principalId, aud: EXCHANGE_AUDIENCE, nbf: now, exp: now + 600 }), 700211],
      ["right claims, signed by someone else", signAssertion({ alg: "RS256", typ: "JWT" }, { iss: issuer, sub: FUNCTION_IDENTITY.principalId, aud: EXCHANGE_AUDIENCE, nbf: now, exp: now + 600 }, certificate.keyPem), 700027],
    ];
    for (const [label, assertion, code] of cases) {
      const answer = await post({ client_id: federatedApp.clientId, client_assertion: assertion });
      assert.deepEqual([answer.status, answer.body.error_codes], [401, [code]], label);
    }
  });

  test("real MSAL: certificate credential and managed-identity federation both reach a Graph app token", async () => {
    const certificateClient = new ConfidentialClientApplication({
      auth: {
        clientId: certificateApp.clientId,
        authority: `${identity.origin}/${TENANT_ID}`,
        knownAuthorities: [identity.authorityHost],
        clientCertificate: { thumbprintSha256: new X509Certificate(certificate.certPem).fingerprint256.replaceAll(":", ""), privateKey: certificate.keyPem },
      },
    });
    const first = await certificateClient.acquireTokenByClientCredential({ scopes: [`${GRAPH}/.default`] });
    const again = await certificateClient.acquireTokenByClientCredential({ scopes: [`${GRAPH}/.default`] });
    assert.equal(identity.describeAccessToken(first?.accessToken ?? "")?.kind, "app");
    assert.equal(again?.accessToken, first?.accessToken, "MSAL serves the app token from its cache");

    process.env.IDENTITY_ENDPOINT = identity.managedIdentity!.endpoint;
    process.env.IDENTITY_HEADER = identity.managedIdentity!.header;
    const managed = new ManagedIdentityApplication({ managedIdentityIdParams: { userAssignedClientId: FUNCTION_IDENTITY.clientId } });
    const federatedClient = new ConfidentialClientApplication({
      auth: {
        clientId: federatedApp.clientId,
        authority: `${identity.origin}/${TENANT_ID}`,
        knownAuthorities: [identity.authorityHost],
        clientAssertion: async () => (await managed.acquireToken({ resource: EXCHANGE_AUDIENCE })).accessToken,
      },
    });
    const federated = await federatedClient.acquireTokenByClientCredential({ scopes: [`${GRAPH}/.default`] });
    assert.deepEqual(identity.describeAccessToken(federated?.accessToken ?? ""), { kind: "app", appId: federatedApp.clientId, tenantId: TENANT_ID, roles: ["Sites.Selected"] });
    const sent = identity.managedIdentity!.requests.at(-1)!;
    assert.deepEqual([sent.query["api-version"], sent.query.resource, sent.query.client_id], ["2019-08-01", EXCHANGE_AUDIENCE, FUNCTION_IDENTITY.clientId]);
  });
});
