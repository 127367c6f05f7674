/**
 * One Azurite for the whole test run, started by the run itself. Tests read its connection
 * string with `inject("azuriteConnectionString")` and use a unique table/queue name each.
 */
import type { TestProject } from "vitest/node";
import { startAzurite, type RunningAzurite } from "../../local/azurite.js";

let azurite: RunningAzurite | undefined;

export async function setup(project: TestProject): Promise<void> {
  azurite = await startAzurite();
  project.provide("azuriteConnectionString", azurite.connectionString);
}

export async function teardown(): Promise<void> {
  await azurite?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}
