/**
 * A TokenCredential for the simulated ARM: an unsigned JWT (alg "none") carrying the caller's
 * name, upn and object id, as an Entra ID token would. The simulator reads the caller from it
 * for the events' claims. Never accepted by real Azure — local use only.
 */
import type { AccessToken, TokenCredential } from "@azure/core-auth";

export interface LocalCaller {
  readonly name?: string;
  readonly upn?: string;
  readonly oid?: string;
  readonly appid?: string;
  readonly ipaddr?: string;
}

export function localDevCredential(caller: LocalCaller = {}): TokenCredential {
  return {
    async getToken(): Promise<AccessToken> {
      const now = Math.floor(Date.now() / 1000);
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
      const claims = { aud: "https://management.azure.com/", iat: now, nbf: now, exp: now + 3600, name: "gallery-watch (local)", upn: "gallery-watch@contoso.example", oid: "00000000-0000-4000-8000-0000000000aa", ...caller };
      return { token: `${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.local`, expiresOnTimestamp: (now + 3600) * 1000 };
    },
  };
}
