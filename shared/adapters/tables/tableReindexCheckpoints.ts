/**
 * Where `gallery-watch reindex` is (shared/app/reindex.ts): one row per index in `<prefix>Maintenance`
 * (PK `reindex`, RK the index name), rewritten after each page, so a stopped run resumes there.
 */
import type { ReindexCheckpoint, ReindexCheckpoints } from "../../app/ports.js";
import { call, getOrUndefined, openTable, type StorageConnection } from "./tableClients.js";

const PARTITION = "reindex";

export function createTableReindexCheckpoints(conn: StorageConnection, prefix: string): ReindexCheckpoints {
  const table = () => openTable(conn, `${prefix}Maintenance`);
  return {
    async read(name) {
      const row = await getOrUndefined<{ checkpoint: string }>(await table(), PARTITION, name);
      return row ? (JSON.parse(row.checkpoint) as ReindexCheckpoint) : undefined;
    },
    async write(name, checkpoint) {
      const client = await table();
      await call(client.tableName, "upsertEntity", (abortSignal) =>
        client.upsertEntity({ partitionKey: PARTITION, rowKey: name, checkpoint: JSON.stringify(checkpoint) }, "Replace", { abortSignal }),
      );
    },
  };
}
