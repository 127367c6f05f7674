/**
 * `gallery-watch usage <version id>`: which machines (VMs and scale sets) run an image version
 * now, and since when — the question before deleting or retiring it. From the store (the
 * reference index and each machine's snapshots), not ARM. Exits 3 for a version never stored.
 */
import { Command, InvalidArgumentError } from "commander";
import { tryParseResourceId, type ResourceId } from "../../shared/domain/resourceId.js";
import { UnknownResourceError } from "../../shared/domain/errors.js";
import { versionUsers, type VersionUser } from "../../shared/app/inventory.js";
import type { CliContext, ContextFor } from "../context.js";
import { READ_STORAGE } from "../settings.js";
import type { Row } from "../output.js";

function versionIdArgument(value: string): ResourceId {
  const parsed = tryParseResourceId(value);
  if (!parsed.ok || parsed.id.version === undefined) throw new InvalidArgumentError("give an image version's ARM id (…/galleries/<g>/images/<definition>/versions/<version>).");
  return parsed.id;
}

export function usageRows(users: readonly VersionUser[]): Row[] {
  return users.map((u) => ({ Machine: u.id.split("/").at(-1) ?? u.id, Kind: u.kind, ResourceGroup: u.resourceGroup, Machines: u.machines, Follows: u.follows, Since: u.since, SinceBy: u.sinceBy ?? "", Id: u.id }));
}

export async function runUsage(ctx: CliContext, versionId: ResourceId): Promise<number> {
  const deps = ctx.reader.dependencies({ invocationId: "cli", functionName: "usage" });
  let users: VersionUser[];
  try {
    users = await versionUsers(deps, versionId);
  } catch (error) {
    if (!(error instanceof UnknownResourceError)) throw error;
    ctx.io.stderr(`ERROR: ${error.message}\n`);
    return 3;
  }
  ctx.output.print({ json: users, rows: usageRows(users) });
  if (users.length === 0) ctx.note(`No machine gallery-watch has recorded runs ${versionId.display} now.`);
  else ctx.note(`${users.reduce((n, u) => n + u.machines, 0)} machine(s) in ${users.length} VM(s) and scale set(s) run it.`);
  return 0;
}

export function usageCommand(context: ContextFor): Command {
  return new Command("usage")
    .summary("which VMs and scale sets run an image version now, and since when")
    .description(
      "List the virtual machines and scale sets gallery-watch has recorded as running an image version now — pinned to it, made from its " +
        "OS disk, or following its definition's latest to it — with their machine count and since when (the oldest stored snapshot of the " +
        "unbroken run, and who wrote it). Ask before deleting or retiring a version. Exits 3 when gallery-watch never stored the version.",
    )
    .configureHelp({ showGlobalOptions: true })
    .argument("<version-id>", "the ARM id of an image version", versionIdArgument)
    .addHelpText("after", "\nExamples:\n  gallery-watch usage /subscriptions/<sub>/resourceGroups/rg-plant/providers/Microsoft.Compute/galleries/plantGallery/images/gateway-os/versions/1.0.0\n  gallery-watch usage <id> --output table\n")
    .action(async (versionId: ResourceId, _options: unknown, command: Command) => {
      process.exitCode = await runUsage(context(command, READ_STORAGE), versionId);
    });
}
