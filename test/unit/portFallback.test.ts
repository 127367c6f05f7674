/** `npm start` says which usual ports were taken and which it used instead. */
import { describe, expect, it } from "vitest";
import { portFallbackLine, portOf } from "../../local/portFallback.js";
import { USUAL_PORTS } from "../../local/stack.js";

describe("npm start's port fallback line", () => {
  it("says nothing when every usual port was used", () => {
    expect(portFallbackLine({ ...USUAL_PORTS })).toBeUndefined();
  });

  it("names each usual port that was taken and the one used instead", () => {
    const line = portFallbackLine({ ...USUAL_PORTS, host: 41235, table: 39001 });
    expect(line).toContain("Functions host 7071 → 41235");
    expect(line).toContain("Azurite table 10002 → 39001");
    expect(line).not.toContain("Teams inbox");
    expect(line).not.toContain("Azurite blob");
  });

  it("reads the port of the URLs the stack reports", () => {
    expect(portOf("http://127.0.0.1:10002/devstoreaccount1")).toBe(10002);
    expect(portOf("https://localhost/")).toBe(443);
  });
});
