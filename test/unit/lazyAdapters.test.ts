/**
 * The lazily loaded ARM inventory (wiring/lazyAdapters.ts) is what the Functions app judges with:
 * whatever the Compute inventory answers, it must answer too. It once dropped `readsShort`, so the
 * app never put a new resource off while reads were short (a full-size burst took 130 s instead
 * of 30), and a kept listing could never answer a late delivery.
 */
import { describe, expect, it } from "vitest";
import { computeArmInventoryFactory, type ArmInventoryOptions } from "../../shared/adapters/arm/computeArmInventory.js";
import { ReadBudget } from "../../shared/adapters/arm/readBudget.js";
import { lazyArmInventoryFactory } from "../../shared/wiring/lazyAdapters.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import { SUB } from "../support/snapshotBuilders.js";

// Nothing listens on port 9 (discard): a read fails at once, after loading the Compute SDK.
const options = (readBudget: ReadBudget): ArmInventoryOptions => ({ credential: { getToken: async () => ({ token: "t", expiresOnTimestamp: Date.now() + 3_600_000 }) }, endpoint: "https://127.0.0.1:9", timeoutMs: 1_000, maxRetries: 0, readBudget });
const gallery = parseResourceId(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/gal`);

describe("the lazily loaded ARM inventory", () => {
  it("offers every method the Compute inventory offers", () => {
    const compute = computeArmInventoryFactory(options(new ReadBudget()))();
    const lazy = lazyArmInventoryFactory(options(new ReadBudget()))();
    expect(Object.keys(lazy).sort()).toEqual(Object.keys(compute).sort());
  });

  it("once loaded, tells the judging use case at once that reads are short (an inventory made for the next invocation, before its first read)", async () => {
    const budget = new ReadBudget({ burst: 10, perSecond: 1 });
    const make = lazyArmInventoryFactory(options(budget));
    expect(make().readsShort?.(SUB)).toBe(false); // not loaded: nothing spent yet
    await make().readGallery(gallery); // loads the SDK; the read itself fails
    expect(make().readsShort?.(SUB)).toBe(true); // 10 reads at most: below the reserve
  });
});
