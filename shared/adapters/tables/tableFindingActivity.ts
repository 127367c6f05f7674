/**
 * FindingActivity on the `<prefix>Findings` table written by `tableFindingStore`: findings whose
 * `updatedAt` column is at or after a time, resolved ones included (`FindingStore.open` leaves
 * those out). One filtered query; ISO-8601 UTC strings compare in time order.
 */
import type { Finding } from "../../domain/findings.js";
import type { FindingActivity } from "../../app/ports.js";
import { listAll, odata, openTable, readBody, type StorageConnection } from "./tableClients.js";

export function createTableFindingActivity(conn: StorageConnection, prefix: string): FindingActivity {
  return {
    async changedSince(since) {
      const table = await openTable(conn, `${prefix}Findings`);
      const rows = await listAll(table, `updatedAt ge ${odata(since)}`);
      return Promise.all(rows.map(async (row) => JSON.parse(await readBody(table, row)) as Finding));
    },
  };
}
