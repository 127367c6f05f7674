/**
 * The one loopback check: plain http is accepted only to this machine (Azurite, the simulated ARM
 * and Event Grid topic, the local Teams inbox), never across a network.
 */
const LOOPBACK_HOSTS: readonly string[] = ["127.0.0.1", "localhost", "[::1]"];

/** A URL's `hostname` (IPv6 in brackets, as `URL` gives it) that names this machine. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.includes(hostname.toLowerCase());
}

/** A URL to this machine; false for anything that does not parse. */
export function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false;
  }
}
