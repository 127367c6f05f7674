/**
 * A self-signed certificate for a local HTTPS endpoint on 127.0.0.1 (the simulated ARM, the
 * simulated Event Grid topic): the Azure SDKs refuse bearer tokens over http, so each local
 * endpoint serves https and its clients trust this certificate alone (never process-wide).
 */
import { generate } from "selfsigned";

export interface LocalCertificate {
  readonly cert: string;
  readonly private: string;
}

export async function localhostCertificate(days = 7): Promise<LocalCertificate> {
  return generate([{ name: "commonName", value: "localhost" }], {
    keySize: 2048,
    algorithm: "sha256",
    notAfterDate: new Date(Date.now() + days * 86_400_000),
    extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] }],
  } as Parameters<typeof generate>[1]);
}
