/**
 * `gallery-watch images [--os-state Specialized|Generalized|all] [--subscription S]`: the image
 * inventory from the store: each definition and its versions, regions and replica counts, the
 * gallery's sharing, end of life, excludeFromLatest, the scale sets that use it, and the open
 * findings of each. Reads the store directly (keys and partition queries, no scans), not ARM.
 */
import { isGuid } from "../../shared/domain/resourceId.js";
import { Command, InvalidArgumentError, Option } from "commander";
import { imageInventory, OS_STATE_FILTERS, type InventoryDefinition, type OsStateFilter } from "../../shared/app/inventory.js";
import type { CliContext, ContextFor } from "../context.js";
import { READ_WATCHED } from "../settings.js";
import type { Row } from "../output.js";

const PAGE = 100;

export interface ImagesOptions {
  readonly osState: OsStateFilter;
  readonly subscription?: string;
}

function osStateArgument(value: string): OsStateFilter {
  const found = OS_STATE_FILTERS.find((f) => f.toLowerCase() === value.toLowerCase());
  if (!found) throw new InvalidArgumentError(`one of ${OS_STATE_FILTERS.join(", ")}.`);
  return found;
}

function subscriptionArgument(value: string): string {
  if (!isGuid(value)) throw new InvalidArgumentError("give the subscription id (a GUID, e.g. 7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f; see az account list -o table).");
  return value.toLowerCase();
}

/** One row per version (a definition without versions gets one row of its own), for table and csv. */
export function inventoryRows(definitions: readonly InventoryDefinition[]): Row[] {
  return definitions.flatMap((d): Row[] => {
    const sharing = d.sharing.sharedWith.length > 0 ? `${d.sharing.permissions} (${d.sharing.sharedWith.join(" ")})` : d.sharing.permissions;
    const scaleSets = d.scaleSets.map((s) => `${s.id.split("/").at(-1)} (${s.capacity}, ${s.follows}${s.runsVersion && s.follows === "latest" ? ` = ${s.runsVersion}` : ""})`).join(" ");
    const base = {
      Definition: `${d.gallery}/${d.name}`,
      ResourceGroup: d.resourceGroup,
      OsState: d.osState,
      Sharing: sharing,
    };
    const tail = { ScaleSets: scaleSets, OpenFindings: d.openFindings + d.galleryOpenFindings };
    if (d.versions.length === 0) {
      return [{ ...base, Version: "", Regions: "", Replicas: "", ExcludedFromLatest: "", EndOfLife: d.endOfLifeDate ?? "", Machines: "", ...tail }];
    }
    return d.versions.map((v) => ({
      ...base,
      Version: v.version,
      Regions: v.regions.map((r) => `${r.region}=${r.replicas}`).join(" "),
      Replicas: v.totalReplicas,
      ExcludedFromLatest: v.excludeFromLatest,
      EndOfLife: v.endOfLifeDate ?? d.endOfLifeDate ?? "none",
      // Lineage: machines running it now, and every one ever recorded running it.
      Machines: `${v.lineage.filter((m) => m.lastSeen === undefined).length} now, ${v.lineage.length} ever`,
      ScaleSets: scaleSets,
      OpenFindings: d.openFindings + d.galleryOpenFindings + v.openFindings,
    }));
  });
}

export async function runImages(ctx: CliContext, options: ImagesOptions): Promise<number> {
  const { config } = ctx.settings;
  if (options.subscription && !config.subscriptions.includes(options.subscription)) {
    ctx.warn(`subscription ${options.subscription} is not in GW_WATCHED_SUBSCRIPTIONS; gallery-watch stores nothing for it.`);
  }
  const subscriptions = options.subscription ? [options.subscription] : config.subscriptions;
  const deps = ctx.reader.dependencies({ invocationId: "cli", functionName: "images" });
  const definitions: InventoryDefinition[] = [];
  let token: string | undefined;
  do {
    const page = await imageInventory(deps, { subscriptions, osState: options.osState, limit: PAGE, ...(token ? { continuationToken: token } : {}) });
    definitions.push(...page.items);
    token = page.continuationToken;
    if (ctx.io.interactive && token) ctx.io.stderr(`\r\x1b[2Kread ${definitions.length} image definitions…`);
  } while (token);
  if (ctx.io.interactive && definitions.length > PAGE) ctx.io.stderr("\n");

  ctx.output.print({ json: definitions, rows: inventoryRows(definitions) });
  if (definitions.length === 0) ctx.note(`No ${options.osState === "all" ? "" : `${options.osState} `}image definitions stored. Run gallery-watch sweep --wait first if this is a new install.`);
  const unknown = definitions.filter((d) => d.osState === "Unknown");
  if (options.osState === "Specialized" && unknown.length > 0) {
    ctx.warn(`${unknown.length} definition(s) listed with osState Unknown: gallery-watch could not read it, so it does not assume Generalized.`);
  }
  return 0;
}

export function imagesCommand(context: ContextFor): Command {
  return new Command("images")
    .summary("the image inventory: definitions, versions, regions and replicas, sharing, end of life, scale sets using them")
    .description(
      "List the image definitions gallery-watch has stored for the watched subscriptions (default: Specialized ones, and those whose osState " +
        "it could not read), with each version's regions and replica counts, the gallery's sharing, end of life, whether the version is excluded " +
        "from latest, which scale sets use the definition (latest or pinned), and the open findings.",
    )
    .configureHelp({ showGlobalOptions: true })
    .addOption(new Option("--os-state <state>", "Specialized, Generalized or all").argParser(osStateArgument).default("Specialized"))
    .addOption(new Option("--subscription <id>", "only this subscription (GUID)").argParser(subscriptionArgument))
    .addHelpText("after", "\nExamples:\n  gallery-watch images\n  gallery-watch images --os-state all --output csv > images.csv\n")
    .action(async (options: ImagesOptions, command: Command) => {
      process.exitCode = await runImages(context(command, READ_WATCHED), options);
    });
}
