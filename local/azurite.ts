/**
 * Starts Azurite (the real storage emulator, from npm) as a child process on free loopback
 * ports (or the ports asked for) and hands back its endpoints. Used by `npm start` and by the
 * test run, so neither needs anything installed or running beforehand. Azurite dies with the
 * process that started it, however that one ends (see `DIE_WITH_PARENT`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

/** Azurite's published development account; public, not a secret. */
export const DEV_ACCOUNT = "devstoreaccount1";
export const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface RunningAzurite {
  readonly blobUrl: string;
  readonly queueUrl: string;
  readonly tableUrl: string;
  /** A full connection string with the three endpoints. */
  readonly connectionString: string;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  readonly timeoutMs?: number;
  /** Ports to listen on (0 or absent: any free port). Azurite's usual ones are 10000, 10001, 10002. */
  readonly ports?: { readonly blob?: number; readonly queue?: number; readonly table?: number };
  /** Keep the data in this folder across restarts (Azurite's `--location`); absent: in memory only, nothing written to disk. */
  readonly location?: string;
}

/**
 * Preloaded into Azurite's process (before Azurite's code; nothing else reads its stdin):
 * - when the pipe on its stdin closes (the parent ended, even by SIGKILL, or npm did not forward
 *   a signal), Azurite stops itself through its own SIGTERM handler, so with `--location` it
 *   still saves what it holds;
 * - the first SIGINT / SIGTERM runs Azurite's shutdown once: Ctrl-C or a signal to the process
 *   group reaches Azurite and then the parent's stop sends SIGTERM too, and Azurite's `once`
 *   handlers would otherwise shut down twice (SIGINT then SIGTERM) or die mid-save (a second
 *   SIGTERM with no handler left);
 * - whatever happens, it is gone 10 s after the first signal.
 */
const DIE_WITH_PARENT = `data:text/javascript,${encodeURIComponent(
  // One line: it shows in `ps`. `stdin.destroy()` once stopping: Azurite exits when its event loop drains, and an open stdin would hold it.
  `let stopping=false;const first=(s)=>{if(stopping)return;stopping=true;const o=s==="SIGINT"?"SIGTERM":"SIGINT";for(const l of process.listeners(o))if(l!==first)process.removeListener(o,l);process.stdin.destroy();setTimeout(()=>process.exit(0),10000).unref()};` +
    `process.on("SIGINT",first);process.on("SIGTERM",first);process.stdin.on("error",()=>{});process.stdin.on("close",()=>{if(!stopping)process.kill(process.pid,"SIGTERM")});process.stdin.resume();`,
)}`;

export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const require = createRequire(import.meta.url);
  const entry = path.join(path.dirname(require.resolve("azurite/package.json")), "dist/src/azurite.js");
  const persistence = options.location ? ["--location", options.location] : ["--inMemoryPersistence"];
  const port = (name: "blob" | "queue" | "table") => String(options.ports?.[name] ?? 0);
  // --disableTelemetry: it would otherwise try to reach the internet; --skipApiVersionCheck: storage-queue 12.30 is newer than azurite 3.35 knows;
  // --silent: no per-request access log (parsing it cost the client 1.3 → 4.7 ms a request as it grew).
  const child = spawn(
    process.execPath,
    ["--import", DIE_WITH_PARENT, entry, ...persistence, "--disableTelemetry", "--silent", "--skipApiVersionCheck", "--loose", "--blobPort", port("blob"), "--queuePort", port("queue"), "--tablePort", port("table"), "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1"],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  // The parent never writes; its end of the pipe closes when it exits (see DIE_WITH_PARENT).
  child.stdin!.on("error", () => undefined);
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    const found: Record<string, number> = {};
    let output = "";
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within ${options.timeoutMs ?? 30000} ms. Output:\n${output}`)), options.timeoutMs ?? 30000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of output.matchAll(/Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/127\.0\.0\.1:(\d+)/g)) {
        found[m[1]!.toLowerCase()] = Number(m[2]);
      }
      if (found.blob && found.queue && found.table) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => fail(new Error(`Azurite exited with code ${code} before it was ready. Output:\n${output}`)));
  });
  child.removeAllListeners("exit");
  // Stop reading what Azurite prints once it is ready, but keep draining its pipes so it never blocks on a full one.
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.removeAllListeners("data");
    stream.resume();
  }
  const blobUrl = `http://127.0.0.1:${ports.blob}/${DEV_ACCOUNT}`;
  const queueUrl = `http://127.0.0.1:${ports.queue}/${DEV_ACCOUNT}`;
  const tableUrl = `http://127.0.0.1:${ports.table}/${DEV_ACCOUNT}`;
  return {
    blobUrl,
    queueUrl,
    tableUrl,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};BlobEndpoint=${blobUrl};QueueEndpoint=${queueUrl};TableEndpoint=${tableUrl};`,
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
