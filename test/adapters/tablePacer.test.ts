/** Pacing shared by every instance: slots claimed through one Azurite table never crowd one second. */
import { randomUUID } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { createTablePacer } from "../../shared/adapters/tables/tablePacer.js";

describe("table pacer", () => {
  it("two instances claiming at once get slots at least 1/rps (+5 %) apart, and never more than rps in one second", async () => {
    const conn = { connectionString: inject("azuriteConnectionString") };
    const prefix = `p${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const url = "https://example.invalid/workflows/abc/triggers/manual/paths/invoke?sig=test-only";
    const instanceA = createTablePacer(conn, prefix, url, 4);
    const instanceB = createTablePacer(conn, prefix, url, 4);

    const slots = (await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? instanceA : instanceB).claim()))).sort((a, b) => a - b);

    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(263);
    for (const start of slots) expect(slots.filter((s) => s >= start && s < start + 1000).length).toBeLessThanOrEqual(4);
  });

  it("keeps the webhook's secret out of the table: the row is keyed by a hash", async () => {
    const conn = { connectionString: inject("azuriteConnectionString") };
    const prefix = `p${randomUUID().replace(/-/g, "").slice(0, 12)}`;
    await createTablePacer(conn, prefix, "https://example.invalid/x?sig=test-only-secret", 4).claim();
    const { TableClient } = await import("@azure/data-tables");
    const rows = [];
    for await (const row of TableClient.fromConnectionString(conn.connectionString, `${prefix}Pacing`, { allowInsecureConnection: true }).listEntities()) rows.push(row);
    expect(JSON.stringify(rows)).not.toContain("test-only-secret");
    expect(rows).toHaveLength(1);
  });
});
