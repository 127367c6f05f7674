/**
 * A definition read is shared across invocations only with those that began before it went out:
 * never a cache of an earlier read, however recent (its provisioning state and tags change).
 */
import { describe, expect, it } from "vitest";
import { ReadsAfter } from "../../shared/adapters/arm/readsAfter.js";

describe("reads shared only with invocations that began before they went out", () => {
  it("an answered read sent before an invocation began is not reused by it; one sent after is", async () => {
    let clock = 1_000;
    const reads = new ReadsAfter<string>(() => clock);
    let sent = 0;
    const send = async () => `answer ${++sent}`;
    const ready = async () => undefined;
    const ok = () => true;
    expect(await reads.read("def", 999, ready, send, ok)).toBe("answer 1"); // sent at 1,000
    clock = 1_500;
    expect(await reads.read("def", 999, ready, send, ok)).toBe("answer 1"); // began before it went out
    expect(await reads.read("def", 1_000, ready, send, ok)).toBe("answer 2"); // began as it went out: not provably after
    expect(sent).toBe(2);
  });

  it("invocations asking while a read waits for the budget join it", async () => {
    const reads = new ReadsAfter<string>(() => 1_000);
    let open!: () => void;
    const budget = new Promise<void>((resolve) => (open = resolve));
    let sent = 0;
    const send = async () => `answer ${++sent}`;
    const asked = [reads.read("def", 10, () => budget, send, () => true), reads.read("def", 900, () => budget, send, () => true)];
    open();
    expect(await Promise.all(asked)).toEqual(["answer 1", "answer 1"]);
    expect(sent).toBe(1);
  });

  it("a failed answer serves nobody after it", async () => {
    let clock = 1_000;
    const reads = new ReadsAfter<string>(() => clock);
    let sent = 0;
    const send = async () => (++sent === 1 ? "throttled" : "found");
    expect(await reads.read("def", 0, async () => undefined, send, (a) => a !== "throttled")).toBe("throttled");
    clock = 2_000;
    await new Promise((resolve) => setImmediate(resolve));
    expect(await reads.read("def", 0, async () => undefined, send, (a) => a !== "throttled")).toBe("found");
  });
});
