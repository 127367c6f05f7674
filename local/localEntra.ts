/**
 * A stand-in for Entra ID when the local stack models App Service authentication
 * (GW_ENABLE_ENTRA_AUTH=true): an RSA key made at start signs tokens the way Entra's does (RS256,
 * v2 issuer, the API's client id as audience, an hour's lifetime), and the local host checks them
 * as Easy Auth checks Entra's (local/host.ts `bearerProblem`). Nothing here reaches Azure.
 */
import { createPrivateKey, generateKeyPairSync, sign } from "node:crypto";
import type { EasyAuthModel } from "./host.js";

/** A fixed, obviously local tenant id. */
export const LOCAL_TENANT = "00000000-0000-4000-8000-00000000e1d0";

export interface LocalEntra {
  readonly model: EasyAuthModel;
  /** A signed access token for the API; `claims` override or add (e.g. `{ exp: 0 }`, `{ aud: "x" }`). */
  issueToken(claims?: Readonly<Record<string, unknown>>): string;
}

export function localEntra(clientId: string, now: () => number = Date.now): LocalEntra {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const issuer = `https://login.microsoftonline.com/${LOCAL_TENANT}/v2.0`;
  return {
    model: { issuer, audiences: [`api://${clientId}`, clientId], publicKey },
    issueToken(claims = {}) {
      const iat = Math.floor(now() / 1000);
      return signJwt({ iss: issuer, aud: clientId, tid: LOCAL_TENANT, iat, nbf: iat, exp: iat + 3600, name: "Local Developer", preferred_username: "developer@contoso.example", ...claims }, privateKey.export({ format: "pem", type: "pkcs8" }).toString());
    },
  };
}

/** An RS256 JWT of `claims` signed with a PEM private key. */
export function signJwt(claims: Readonly<Record<string, unknown>>, privateKeyPem: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}`;
  return `${unsigned}.${sign("RSA-SHA256", Buffer.from(unsigned), createPrivateKey(privateKeyPem)).toString("base64url")}`;
}
