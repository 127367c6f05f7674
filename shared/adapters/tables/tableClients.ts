/**
 * The one place that creates Table clients. A connection string (Azurite locally) or an account
 * endpoint with a TokenCredential (managed identity in Azure). Tables are created on first use,
 * except on a read-only connection (the CLI's read commands): those make no create or write
 * request, so an identity with only Storage Table Data Reader may run them (creating a table needs
 * `tableServices/tables/write`, which that role does not hold: Learn, "Azure built-in roles for
 * Storage", Storage Table Data Reader).
 * Storage errors leave here as StorageError / ConcurrentUpdateError naming table and operation.
 */
import { statusOf } from "../../platform/sdkErrors.js";
import { isLoopbackUrl } from "../../platform/loopback.js";
import { TableClient, type TableEntityResult, type TableEntity } from "@azure/data-tables";
import type { TokenCredential } from "@azure/core-auth";
import { ConcurrentUpdateError, StorageError } from "../../domain/errors.js";

export type StorageConnection = (
  | { readonly connectionString: string }
  | { readonly tableEndpoint: string; readonly queueEndpoint: string; readonly credential: TokenCredential }
) & {
  /** Read only: no table is created (a missing one reads as empty), nothing is written. */
  readonly readOnly?: boolean;
};

const TIMEOUT_MS = 15_000;
const clients = new Map<string, Promise<TableClient>>();
/** The clients by table name, so a table lost under a running app (a restarted Azurite, a deleted table) is created again. */
const byName = new Map<string, TableClient>();
/**
 * Clients of read-only connections: a table they find missing holds no rows, so a read answers
 * empty (each command then says nothing is stored yet in its own words); creating it is the app's job.
 */
const readOnlyClients = new WeakSet<TableClient>();
const missingTableReadsEmpty = (client: TableClient, error: unknown) => isTableNotFound(error) && readOnlyClients.has(client);

/** A client for `name`, creating the table if needed; cached per connection and name. */
export function openTable(conn: StorageConnection, name: string): Promise<TableClient> {
  const cacheKey = `${"connectionString" in conn ? conn.connectionString : conn.tableEndpoint}|${name}${conn.readOnly ? "|read-only" : ""}`;
  let client = clients.get(cacheKey);
  if (!client) {
    client = create(conn, name);
    clients.set(cacheKey, client);
    client.catch(() => clients.delete(cacheKey));
  }
  return client;
}

async function create(conn: StorageConnection, name: string): Promise<TableClient> {
  const retryOptions = { maxRetries: 4, retryDelayInMs: 200, maxRetryDelayInMs: 5_000 };
  const client =
    "connectionString" in conn
      ? TableClient.fromConnectionString(conn.connectionString, name, {
          allowInsecureConnection: /TableEndpoint=http:\/\/(127\.0\.0\.1|localhost)/i.test(conn.connectionString) || conn.connectionString.includes("UseDevelopmentStorage=true"),
          retryOptions,
        })
      : new TableClient(conn.tableEndpoint, name, conn.credential, { retryOptions, allowInsecureConnection: isLoopbackUrl(conn.tableEndpoint) });
  if (conn.readOnly) {
    readOnlyClients.add(client);
    return client;
  }
  await call(name, "createTable", () => client.createTable());
  byName.set(name, client);
  return client;
}

function isTableNotFound(error: unknown): boolean {
  return statusOf(error) === 404 && (error as { details?: { errorCode?: string } }).details?.errorCode === "TableNotFound";
}

/** Run one storage call with a timeout; translate failures. A table that disappeared is created again and the call retried once. */
export async function call<T>(table: string, operation: string, fn: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  try {
    try {
      return await fn(AbortSignal.timeout(TIMEOUT_MS));
    } catch (error) {
      const client = byName.get(table);
      if (!isTableNotFound(error) || !client) throw error;
      await client.createTable({ abortSignal: AbortSignal.timeout(TIMEOUT_MS) });
      return await fn(AbortSignal.timeout(TIMEOUT_MS));
    }
  } catch (error) {
    const status = statusOf(error);
    const code = (error as { details?: { errorCode?: string } }).details?.errorCode ?? (error as { code?: string }).code ?? "";
    const message = `${status ?? "no status"} ${code} ${(error as Error).message?.split("\n")[0] ?? ""}`.trim().slice(0, 300);
    if (status === 412 || (status === 409 && operation.startsWith("update"))) throw new ConcurrentUpdateError(operation, table, message, { cause: error });
    throw new StorageError(operation, table, message, { cause: error });
  }
}

export async function getOrUndefined<T extends object>(client: TableClient, pk: string, rk: string): Promise<TableEntityResult<T> | undefined> {
  return call(client.tableName, "getEntity", (abortSignal) =>
    client.getEntity<T>(pk, rk, { abortSignal }).catch((error: unknown) => ((statusOf(error) === 404 && !isTableNotFound(error)) || missingTableReadsEmpty(client, error) ? undefined : Promise.reject(error))),
  );
}

/** Insert; the new row's etag, or undefined when the row already exists (409). */
export async function createIfAbsent(client: TableClient, entity: TableEntity<object>): Promise<string | undefined> {
  return call(client.tableName, "createEntity", (abortSignal) =>
    client.createEntity(entity, { abortSignal }).then(
      (response) => response.etag ?? "*",
      (error: unknown) => (statusOf(error) === 409 ? undefined : Promise.reject(error)),
    ),
  );
}

/** Insert; false when the row already exists (409). */
export async function insertIfAbsent(client: TableClient, entity: TableEntity<object>): Promise<boolean> {
  return call(client.tableName, "createEntity", (abortSignal) =>
    client.createEntity(entity, { abortSignal }).then(
      () => true,
      (error: unknown) => (statusOf(error) === 409 ? false : Promise.reject(error)),
    ),
  );
}

export async function listAll<T extends object>(client: TableClient, filter: string, top?: number): Promise<Array<TableEntityResult<T>>> {
  const out: Array<TableEntityResult<T>> = [];
  await call(client.tableName, "listEntities", async () => {
    try {
      for await (const page of client.listEntities<T>({ queryOptions: { filter } }).byPage({ maxPageSize: Math.min(top ?? 1000, 1000) })) {
        for (const entity of page) {
          out.push(entity);
          if (top !== undefined && out.length >= top) return;
        }
      }
    } catch (error) {
      if (!missingTableReadsEmpty(client, error)) throw error;
    }
  });
  return out;
}

/** OData string literal. */
export function odata(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

// A string property holds at most 64 KiB (32 Ki UTF-16 chars); an entity at most 1 MiB and 255 properties.
const CHUNK_CHARS = 30_000;
const MAX_CHUNKS_PER_ENTITY = 30;

/** Split a large JSON body into `body0..bodyN` properties. Bodies beyond one entity go to continuation rows (see `bodyRows`). */
export function bodyProperties(json: string): { properties: Record<string, string | number>; overflow: string[] } {
  const chunks: string[] = [];
  for (let i = 0; i < json.length; i += CHUNK_CHARS) chunks.push(json.slice(i, i + CHUNK_CHARS));
  if (chunks.length === 0) chunks.push("");
  const here = chunks.slice(0, MAX_CHUNKS_PER_ENTITY);
  const properties: Record<string, string | number> = { bodyChunks: chunks.length };
  here.forEach((c, i) => (properties[`body${i}`] = c));
  return { properties, overflow: chunks.slice(MAX_CHUNKS_PER_ENTITY) };
}

/** Continuation rows `${rowKey}~c{n}` holding the chunks that did not fit in the main entity. */
export function continuationRows(partitionKey: string, rowKey: string, overflow: readonly string[]): Array<TableEntity<Record<string, string>>> {
  const rows: Array<TableEntity<Record<string, string>>> = [];
  for (let start = 0, n = 0; start < overflow.length; start += MAX_CHUNKS_PER_ENTITY, n++) {
    const entity: TableEntity<Record<string, string>> = { partitionKey, rowKey: `${rowKey}~c${String(n).padStart(4, "0")}` };
    overflow.slice(start, start + MAX_CHUNKS_PER_ENTITY).forEach((c, i) => (entity[`body${i}`] = c));
    rows.push(entity);
  }
  return rows;
}

/** Reassemble a body written with `bodyProperties` (+ continuation rows). */
export async function readBody(client: TableClient, entity: object): Promise<string> {
  const e = entity as Record<string, unknown>;
  const count = Number(e.bodyChunks ?? 0);
  const parts: string[] = [];
  for (let i = 0; i < Math.min(count, MAX_CHUNKS_PER_ENTITY); i++) parts.push(String(e[`body${i}`] ?? ""));
  if (count > MAX_CHUNKS_PER_ENTITY) {
    const pk = String(e.partitionKey);
    const rk = String(e.rowKey);
    const rows = await listAll<Record<string, string>>(client, `PartitionKey eq ${odata(pk)} and RowKey gt ${odata(`${rk}~c`)} and RowKey lt ${odata(`${rk}~d`)}`);
    rows.sort((a, b) => ((a.rowKey ?? "") < (b.rowKey ?? "") ? -1 : 1));
    for (const row of rows) for (let i = 0; i < MAX_CHUNKS_PER_ENTITY && row[`body${i}`] !== undefined; i++) parts.push(row[`body${i}`]!);
  }
  return parts.join("");
}

/** Write an entity whose body may be large; continuation rows are written first so a reader never sees half a body. */
export async function upsertWithBody(client: TableClient, entity: TableEntity<Record<string, unknown>>, json: string): Promise<void> {
  const { properties, overflow } = bodyProperties(json);
  for (const row of continuationRows(entity.partitionKey, entity.rowKey, overflow)) {
    await call(client.tableName, "upsertEntity", (abortSignal) => client.upsertEntity(row, "Replace", { abortSignal }));
  }
  await call(client.tableName, "upsertEntity", (abortSignal) => client.upsertEntity({ ...entity, ...properties }, "Replace", { abortSignal }));
}

/** One page of a scan, and the token of the next (undefined after the last): a long scan can stop and resume. */
export async function listPage<T extends object>(
  client: TableClient,
  options: { readonly filter?: string; readonly select?: string[]; readonly continuationToken?: string; readonly maxPageSize?: number },
): Promise<{ rows: Array<TableEntityResult<T>>; continuationToken?: string }> {
  return call(client.tableName, "listEntities", async () => {
    const queryOptions = { ...(options.filter ? { filter: options.filter } : {}), ...(options.select ? { select: options.select } : {}) };
    const pages = client.listEntities<T>({ queryOptions }).byPage({ maxPageSize: options.maxPageSize ?? 1000, ...(options.continuationToken ? { continuationToken: options.continuationToken } : {}) });
    const next = await pages.next();
    if (next.done) return { rows: [] };
    const page = next.value;
    return { rows: [...page], ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}) };
  });
}

/** Rows a scan of `filter` would visit (keys only: a cheap pass, for progress reporting). */
export async function countRows(client: TableClient, filter?: string): Promise<number> {
  let count = 0;
  let continuationToken: string | undefined;
  do {
    const page = await listPage(client, { ...(filter ? { filter } : {}), select: ["PartitionKey"], ...(continuationToken ? { continuationToken } : {}) });
    count += page.rows.length;
    continuationToken = page.continuationToken;
  } while (continuationToken);
  return count;
}
