/**
 * What Microsoft's Azure CLI needs around the resources themselves, so `az login` and the seed's
 * `az` commands work against the simulated ARM (Debian's azure-cli 2.45.0, traced with `--debug`):
 *
 * - **A token endpoint.** A custom cloud's `loginEndpoint` of `{simulator}/adfs` makes MSAL treat
 *   the authority as AD FS: no instance discovery at login.microsoftonline.com (MSAL Python
 *   `authority.py`: `is_adfs` makes the authority "known to the developer"), only OpenID discovery at
 *   `{authority}/.well-known/openid-configuration`, then the token endpoint. `az login -u … -p …`
 *   is the resource-owner password grant there; the token names the user as an Entra ID token would
 *   (an unsigned JWT, as local/localCredential.ts makes for curl and the SDK), so the events' claims
 *   name whoever logged in. Nothing is verified: any password works. Local use only.
 * - **Cloud metadata** (`GET /metadata/endpoints`): `az cloud register --endpoint-resource-manager`
 *   fills the login endpoint and audiences from it, as for Azure Stack Hub
 *   (msrestazure `_populate_from_metadata_endpoint`; Learn: "Use API version profiles with Azure CLI
 *   in Azure Stack Hub").
 * - **Tenants and subscriptions** (`GET /tenants`, `GET /subscriptions`, `GET /subscriptions/{id}`):
 *   `az login` lists them after the token (Learn REST: Tenants - List, Subscriptions - List / Get).
 * - **Resource-group lists** (`az group list`) and **resource providers** (`az resource …` reads a
 *   type's api-versions from `GET /subscriptions/{id}/providers/{namespace}` unless given one; so
 *   does `az vm create` for a subnet it is given).
 *
 * `az login -u … -p …` (traced with `--debug`): `GET /adfs/.well-known/openid-configuration`,
 * `POST /adfs/oauth2/token`, `GET /tenants?api-version=2019-11-01`,
 * `GET /subscriptions?api-version=2019-11-01`; no request leaves for a Microsoft host.
 *
 * Served before ARM's own checks (the token endpoint takes a form body and no bearer token); the
 * ARM-side reads still require a bearer token and an api-version, as ARM does.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import { API_VERSIONS } from "./apiVersions.js";
import { ARM_TYPE, type Estate, type Json } from "./estate.js";
import { DEFAULT_CALLER, TENANT } from "./eventShape.js";
import { LOCAL_SUBSCRIPTION } from "../subscription.js";

/** The cloud `npm run az:login` registers (and `/metadata/endpoints` names). */
export const LOCAL_CLOUD_NAME = "GalleryWatchLocal";
/** The audience of ARM tokens in Azure's public cloud; the simulator's metadata names the same. */
const ARM_AUDIENCE = "https://management.core.windows.net/";
const TOKEN_SECONDS = 3600;
/** Regions a provider's resource types are offered in (what the seed and the case studies use). */
const REGIONS = ["West Europe", "North Europe", "East US", "East US 2", "West US 2", "Central US", "UK South", "Sweden Central"];

type Send = (res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void;

export interface CliSurfaceDeps {
  /** The simulator's base URL, known once it listens. */
  readonly url: () => string;
  readonly estate: Estate;
  readonly send: Send;
}

/** Answers the request if it is one of the CLI's; `false` leaves it to ARM's routes. */
export type CliSurface = (req: IncomingMessage, res: ServerResponse, path: string, method: string, requestUrl: URL) => Promise<boolean>;

export function cliSurface(deps: CliSurfaceDeps): CliSurface {
  const { estate, send } = deps;
  const authority = () => `${deps.url()}/adfs`;

  return async (req, res, path, method, requestUrl) => {
    const lower = path.toLowerCase();
    // ---- identity (AD FS-shaped, no bearer token) ----
    if (lower === "/adfs/.well-known/openid-configuration" && method === "GET") {
      send(res, 200, openIdConfiguration(authority()));
      return true;
    }
    if (lower === "/adfs/oauth2/token" && method === "POST") {
      const form = new URLSearchParams(await readText(req));
      const answer = token(form, authority());
      send(res, answer.status, answer.body, { "cache-control": "no-store" });
      return true;
    }
    if (lower.startsWith("/adfs/")) {
      // The browser and device-code flows need a person at a sign-in page the simulator does not have.
      send(res, 400, { error: "unsupported_grant_type", error_description: "The local stack signs in with a user name and any password only: az login -u <upn> -p <anything> (npm run az:login does it)." });
      return true;
    }
    // ---- cloud metadata (no bearer token, as ARM serves it) ----
    if (lower === "/metadata/endpoints" && method === "GET") {
      send(res, 200, cloudMetadata(deps.url(), authority(), requestUrl.searchParams.get("api-version") ?? "1.0"));
      return true;
    }

    const tenants = lower === "/tenants";
    const subscriptionList = lower === "/subscriptions";
    const subscription = /^\/subscriptions\/([^/]+)$/i.exec(path);
    const groups = /^\/subscriptions\/([^/]+)\/resourcegroups$/i.exec(path);
    const providers = /^\/subscriptions\/([^/]+)\/providers(?:\/([^/]+))?$/i.exec(path);
    const locations = /^\/subscriptions\/([^/]+)\/locations$/i.exec(path);
    if (!tenants && !subscriptionList && !subscription && !groups && !providers && !locations) return false;
    if (method !== "GET") return false;
    // ARM's own checks, in ARM's order (index.ts answers the same for every other route).
    if (!requestUrl.searchParams.get("api-version")) {
      send(res, 400, { error: { code: "MissingApiVersionParameter", message: "The api-version query parameter (?api-version=) is required for all requests." } });
      return true;
    }
    if (!/^Bearer\s+\S+/i.test(req.headers.authorization ?? "")) {
      send(res, 401, { error: { code: "AuthenticationFailed", message: "Authentication failed. The 'Authorization' header is missing." } });
      return true;
    }
    const known = knownSubscriptions(estate);
    const unknown = (id: string) => !known.some((s) => s.toLowerCase() === id.toLowerCase());
    const subscriptionNotFound = (id: string) => send(res, 404, { error: { code: "SubscriptionNotFound", message: `The subscription '${id}' could not be found.` } });

    if (tenants) send(res, 200, { value: [tenantView()] });
    else if (subscriptionList) send(res, 200, { value: known.map(subscriptionView), count: { type: "Total", value: known.length } });
    else if (subscription) unknown(subscription[1]!) ? subscriptionNotFound(subscription[1]!) : send(res, 200, subscriptionView(canonical(known, subscription[1]!)));
    else if (groups) unknown(groups[1]!) ? subscriptionNotFound(groups[1]!) : send(res, 200, { value: estate.groupsOf(groups[1]!) });
    else if (locations) unknown(locations[1]!) ? subscriptionNotFound(locations[1]!) : send(res, 200, { value: REGIONS.map((r) => locationView(canonical(known, locations[1]!), r)) });
    else if (providers) {
      const subscriptionId = providers[1]!;
      if (unknown(subscriptionId)) subscriptionNotFound(subscriptionId);
      else if (!providers[2]) send(res, 200, { value: PROVIDERS.map((p) => providerView(subscriptionId, p)) });
      else {
        const found = PROVIDERS.find((p) => p.namespace.toLowerCase() === providers[2]!.toLowerCase());
        if (found) send(res, 200, providerView(subscriptionId, found));
        else send(res, 404, { error: { code: "InvalidResourceNamespace", message: `The resource namespace '${providers[2]}' is invalid.` } });
      }
    }
    return true;
  };
}

// ---- identity ------------------------------------------------------------------------------

function openIdConfiguration(authority: string): Json {
  return {
    issuer: authority,
    authorization_endpoint: `${authority}/oauth2/authorize`,
    token_endpoint: `${authority}/oauth2/token`,
    device_authorization_endpoint: `${authority}/oauth2/devicecode`,
    jwks_uri: `${authority}/discovery/keys`,
    response_types_supported: ["code", "id_token", "code id_token", "token"],
    grant_types_supported: ["password", "refresh_token", "client_credentials"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["none"],
    scopes_supported: ["openid", "profile", "offline_access"],
    claims_supported: ["aud", "iss", "iat", "exp", "sub", "upn", "unique_name", "name", "oid", "tid"],
  };
}

interface User {
  readonly name: string;
  readonly upn: string;
  readonly oid: string;
}

/** The user a sign-in name stands for: its display name from the name's local part (`priya.patel@…` → "Priya Patel"), a stable object id. */
export function userFor(upn: string): User {
  if (upn.toLowerCase() === DEFAULT_CALLER.upn) return { name: DEFAULT_CALLER.name, upn: DEFAULT_CALLER.upn, oid: DEFAULT_CALLER.oid };
  const local = upn.split("@")[0] ?? upn;
  const name = local
    .split(/[._-]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join(" ");
  return { name: name || upn, upn, oid: stableGuid(upn.toLowerCase()) };
}

function token(form: URLSearchParams, authority: string): { status: number; body: Json } {
  const grant = form.get("grant_type");
  const clientId = form.get("client_id") ?? DEFAULT_CALLER.appid;
  let user: User | undefined;
  if (grant === "password") {
    const username = form.get("username")?.trim();
    if (!username) return { status: 400, body: { error: "invalid_request", error_description: "username is required." } };
    user = userFor(username);
  } else if (grant === "refresh_token") {
    user = fromRefreshToken(form.get("refresh_token") ?? "");
    if (!user) return { status: 400, body: { error: "invalid_grant", error_description: "The refresh token is not one the local stack issued; run npm run az:login again." } };
  } else {
    return { status: 400, body: { error: "unsupported_grant_type", error_description: `The local stack signs in users with a name and any password (grant_type=password); '${grant ?? ""}' is not served.` } };
  }
  const scopes = (form.get("scope") ?? "").split(/\s+/).filter(Boolean);
  // `https://management.core.windows.net//.default` asks for ARM's audience (v2 scope = resource + "/.default").
  const resource = scopes.find((s) => s.endsWith("/.default"))?.replace(/\/\.default$/, "") ?? ARM_AUDIENCE;
  const now = Math.floor(Date.now() / 1000);
  const times = { iat: now, nbf: now, exp: now + TOKEN_SECONDS };
  const identity = { name: user.name, upn: user.upn, unique_name: user.upn, oid: user.oid, sub: user.oid, tid: TENANT };
  const accessToken = unsignedJwt({ aud: resource, iss: authority, ...times, ...identity, appid: clientId, ipaddr: DEFAULT_CALLER.ipaddr, scp: "user_impersonation", ver: "1.0" });
  const idToken = unsignedJwt({ aud: clientId, iss: authority, ...times, ...identity });
  return {
    status: 200,
    body: {
      token_type: "Bearer",
      scope: scopes.filter((s) => !["openid", "profile", "offline_access"].includes(s)).join(" ") || `${resource}/.default`,
      expires_in: TOKEN_SECONDS,
      ext_expires_in: TOKEN_SECONDS,
      access_token: accessToken,
      refresh_token: `local.${Buffer.from(JSON.stringify(user)).toString("base64url")}`,
      id_token: idToken,
    },
  };
}

function fromRefreshToken(refreshToken: string): User | undefined {
  const match = /^local\.([\w-]+)$/.exec(refreshToken);
  if (!match) return undefined;
  try {
    const user = JSON.parse(Buffer.from(match[1]!, "base64url").toString()) as Partial<User>;
    return typeof user.upn === "string" ? userFor(user.upn) : undefined;
  } catch {
    return undefined;
  }
}

function unsignedJwt(claims: Json): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.`;
}

/** A GUID-shaped id that is the same for the same name on every start (so history keeps one caller). */
function stableGuid(name: string): string {
  const hex = createHash("sha256").update(name).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

// ---- cloud metadata --------------------------------------------------------------------------

/**
 * ARM's metadata endpoint: one cloud (api-version 1.0 / 2015-01-01, what the CLI asks for at
 * `az cloud register`), or a list of clouds (2019-05-01 and later; Learn: "Azure Resource Manager
 * metadata endpoints").
 */
function cloudMetadata(url: string, authority: string, apiVersion: string): unknown {
  const one = {
    galleryEndpoint: `${url}/`,
    graphEndpoint: "https://graph.windows.net/",
    portalEndpoint: `${url}/`,
    authentication: { loginEndpoint: authority, audiences: [ARM_AUDIENCE, "https://management.azure.com/"] },
  };
  if (apiVersion < "2019-05-01") return one;
  return [
    {
      name: LOCAL_CLOUD_NAME,
      resourceManager: `${url}/`,
      gallery: `${url}/`,
      graph: "https://graph.windows.net/",
      graphAudience: "https://graph.windows.net/",
      portal: `${url}/`,
      authentication: { ...one.authentication, tenant: "adfs", identityProvider: "ADFS" },
      suffixes: {},
    },
  ];
}

// ---- tenants, subscriptions, locations, providers ------------------------------------------

function knownSubscriptions(estate: Estate): string[] {
  const ids = new Map<string, string>([[LOCAL_SUBSCRIPTION.toLowerCase(), LOCAL_SUBSCRIPTION]]);
  for (const { id } of estate.list()) {
    const subscriptionId = /^\/subscriptions\/([^/]+)/i.exec(id)?.[1];
    if (subscriptionId && !ids.has(subscriptionId.toLowerCase())) ids.set(subscriptionId.toLowerCase(), subscriptionId);
  }
  return [...ids.values()];
}

const canonical = (known: readonly string[], id: string) => known.find((s) => s.toLowerCase() === id.toLowerCase()) ?? id;

function tenantView(): Json {
  return { id: `/tenants/${TENANT}`, tenantId: TENANT, tenantCategory: "Home", country: "US", countryCode: "US", displayName: "Contoso (local stack)", domains: ["contoso.example"], defaultDomain: "contoso.example", tenantType: "AAD" };
}

function subscriptionView(subscriptionId: string): Json {
  return {
    id: `/subscriptions/${subscriptionId}`,
    authorizationSource: "RoleBased",
    managedByTenants: [],
    subscriptionId,
    tenantId: TENANT,
    displayName: subscriptionId === LOCAL_SUBSCRIPTION ? "gallery-watch local stack" : `Simulated subscription ${subscriptionId.slice(0, 8)}`,
    state: "Enabled",
    subscriptionPolicies: { locationPlacementId: "Public_2014-09-01", quotaId: "PayAsYouGo_2014-09-01", spendingLimit: "Off" },
  };
}

function locationView(subscriptionId: string, displayName: string): Json {
  const name = displayName.toLowerCase().replace(/\s+/g, "");
  return { id: `/subscriptions/${subscriptionId}/locations/${name}`, name, displayName, regionalDisplayName: `(Local) ${displayName}`, type: "Region", metadata: { regionType: "Physical", regionCategory: "Recommended" } };
}

interface Provider {
  readonly namespace: string;
  readonly resourceTypes: ReadonlyArray<{ readonly resourceType: string; readonly apiVersions: readonly string[] }>;
}

/** The resource types the simulator serves, with the api-versions apiVersions.ts accepts (one list, not two). */
const PROVIDERS: readonly Provider[] = [
  {
    namespace: "Microsoft.Compute",
    resourceTypes: [
      ...(["gallery", "imageDefinition", "imageVersion"] as const).map((t) => ({ resourceType: ARM_TYPE[t].replace(/^Microsoft\.Compute\//, ""), apiVersions: API_VERSIONS.gallery })),
      { resourceType: ARM_TYPE.scaleSet.replace(/^Microsoft\.Compute\//, ""), apiVersions: API_VERSIONS.scaleSet },
      // `az resource create --resource-type Microsoft.Compute/virtualMachines --is-full-object` and `az disk show` pick their api-version here.
      { resourceType: ARM_TYPE.virtualMachine.replace(/^Microsoft\.Compute\//, ""), apiVersions: API_VERSIONS.scaleSet },
      { resourceType: ARM_TYPE.disk.replace(/^Microsoft\.Compute\//, ""), apiVersions: API_VERSIONS.disk },
      { resourceType: "locations/operations", apiVersions: API_VERSIONS.computeOperations },
    ],
  },
  {
    // `az resource create` of a virtual network and `az vm create --subnet <id>` (which checks the subnet exists) pick their api-version here.
    namespace: "Microsoft.Network",
    resourceTypes: [...(["virtualNetwork", "networkSecurityGroup", "publicIPAddress", "networkInterface"] as const).map((t) => ARM_TYPE[t].replace(/^Microsoft\.Network\//, "")), "virtualNetworks/subnets", "locations/operations"].map((resourceType) => ({
      resourceType,
      apiVersions: API_VERSIONS.network,
    })),
  },
  {
    namespace: "Microsoft.Resources",
    resourceTypes: ["resourceGroups", "tags", "subscriptions", "tenants", "providers", "operationresults", "deployments", "deployments/operationStatuses"].map((resourceType) => ({ resourceType, apiVersions: API_VERSIONS.resources })),
  },
];

function providerView(subscriptionId: string, provider: Provider): Json {
  return {
    id: `/subscriptions/${subscriptionId}/providers/${provider.namespace}`,
    namespace: provider.namespace,
    registrationState: "Registered",
    registrationPolicy: "RegistrationRequired",
    resourceTypes: provider.resourceTypes.map((t) => ({ resourceType: t.resourceType, locations: REGIONS, apiVersions: [...t.apiVersions], capabilities: "None" })),
  };
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) break;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString();
}
