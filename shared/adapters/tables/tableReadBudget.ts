/**
 * The ARM read bucket every instance of the app shares (shared/adapters/arm/readBudget.ts): one row per
 * subscription in `<prefix>ReadBudget` holding the bucket's tokens, its time and any 429 block,
 * changed only by a conditional update on the row's etag, so two instances can never both spend
 * the same tokens. Instances claim tokens in slices, so a row update serves 5–25 reads.
 */
import type { TableClient } from "@azure/data-tables";
import { ConcurrentUpdateError } from "../../domain/errors.js";
import { claimFrom, type BucketState, type SharedReadBudget } from "../arm/readBudget.js";
import { call, getOrUndefined, insertIfAbsent, openTable, type StorageConnection } from "./tableClients.js";
import { encodeKey } from "./tableKeys.js";

const PARTITION = "reads";

interface Row {
  tokens: number;
  at: number;
  blockedUntil: number;
  /** JSON [[tokens, until, claimant], …]: the slices claimed and perhaps not spent yet. */
  slices?: string;
}

/** The stored slices; a row that cannot be read holds everything back (conservative) rather than nothing. */
function slicesOf(json: string | undefined): BucketState["slices"] {
  if (json === undefined) return [];
  try {
    const parsed = JSON.parse(json) as unknown;
    if (Array.isArray(parsed) && parsed.every((s) => Array.isArray(s) && s.length === 3 && Number.isFinite(s[0]) && Number.isFinite(s[1]) && typeof s[2] === "string")) return parsed as Array<[number, number, string]>;
  } catch {
    // fall through
  }
  return [[Number.MAX_SAFE_INTEGER, Date.now() + 10_000, "unreadable"]];
}

export function createTableReadBudget(conn: StorageConnection, prefix: string, limits?: { readonly burst: number; readonly perSecond: number }): SharedReadBudget {
  const table = () => openTable(conn, `${prefix}ReadBudget`);
  return {
    async claim(subscriptionId, want, nowMs, observed, claimant) {
      const client: TableClient = await table();
      const rowKey = encodeKey(subscriptionId.toLowerCase());
      for (let attempt = 1; ; attempt++) {
        const row = await getOrUndefined<Row>(client, PARTITION, rowKey);
        const before = row ? { tokens: Number(row.tokens), at: Number(row.at), blockedUntil: Number(row.blockedUntil), slices: slicesOf(row.slices) } : undefined;
        const { state, granted, waitMs } = claimFrom(before, want, nowMs, observed, limits, claimant);
        const entity = { partitionKey: PARTITION, rowKey, tokens: state.tokens, at: state.at, blockedUntil: state.blockedUntil, slices: JSON.stringify(state.slices) };
        try {
          if (!row) {
            if (await insertIfAbsent(client, entity)) return { granted, waitMs };
          } else {
            await call(client.tableName, "updateEntity", (abortSignal) => client.updateEntity(entity, "Replace", { etag: row.etag, abortSignal }));
            return { granted, waitMs };
          }
        } catch (error) {
          // Another instance claimed first: read its row and claim again.
          if (!(error instanceof ConcurrentUpdateError) || attempt >= 50) throw error;
        }
      }
    },
  };
}
