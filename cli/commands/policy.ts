/**
 * `gallery-watch policy --out policy.json`: write a companion Azure Policy generated from what
 * gallery-watch has stored (the image definitions it knows to be Specialized) and its settings
 * (GW_MAX_REGIONS, GW_EXCEPTION_TAG, GW_WATCHED_SUBSCRIPTIONS), so Azure denies at PUT time what
 * gallery-watch would otherwise alert on afterwards. Azure Policy cannot read a version's parent
 * definition; gallery-watch can, and lists what it read.
 *
 * Files written next to `--out`:
 * - `policy.json`: the `Microsoft.Authorization/policyDefinitions` body;
 * - `policy.assignment.json`: one `Microsoft.Authorization/policyAssignments` body per watched subscription;
 * - `policy.rules.json`, `policy.params.json`: the rule and the parameters alone, as
 *   `az policy definition create --rules … --params …` takes them
 *   (https://learn.microsoft.com/cli/azure/policy/definition#az-policy-definition-create).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import {
  generatePolicy,
  POLICY_ASSIGNMENT_NAME,
  policyDefinitionId,
  type PolicyAssignmentResource,
  type PolicyDefinitionResource,
  type PolicyExport,
} from "../../shared/domain/policyExport.js";
import { POLICY_ASSIGNMENT_SCHEMA, POLICY_DEFINITION_SCHEMA, POLICY_SCHEMA_AJV_OPTIONS } from "../../shared/domain/policyDefinitionSchema.js";
import type { ResourceStore } from "../../shared/app/ports.js";
import type { CliContext, ContextFor } from "../context.js";
import { READ_WATCHED } from "../settings.js";

export const EFFECT_CHOICES = ["deny", "audit"] as const;

export interface PolicyOptions {
  readonly out: string;
  readonly effect: (typeof EFFECT_CHOICES)[number];
}

export interface PolicyFiles {
  readonly definition: string;
  readonly assignment: string;
  readonly rules: string;
  readonly parameters: string;
}

/** `policy.json` → its siblings `policy.assignment.json`, `policy.rules.json`, `policy.params.json`. */
export function policyFiles(out: string, cwd: string): PolicyFiles {
  const definition = path.resolve(cwd, out);
  const base = definition.replace(/\.json$/i, "");
  return { definition, assignment: `${base}.assignment.json`, rules: `${base}.rules.json`, parameters: `${base}.params.json` };
}

/** Every stored current resource of the watched subscriptions (reads in small parallel batches). */
export async function storedSnapshots(resources: ResourceStore, subscriptions: readonly string[]): Promise<Snapshot[]> {
  const snapshots: Snapshot[] = [];
  for (const subscriptionId of subscriptions) {
    let batch: Promise<Snapshot | undefined>[] = [];
    const drain = async () => {
      for (const s of await Promise.all(batch)) if (s) snapshots.push(s);
      batch = [];
    };
    for await (const id of resources.currentIn(subscriptionId)) {
      batch.push(resources.current(id.key));
      if (batch.length >= 16) await drain();
    }
    await drain();
  }
  return snapshots;
}

/** POSIX shell quoting: safe to paste whatever the values hold. */
function sh(value: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The `az` commands that create the definition and assign it, per watched subscription. */
export function azCommands(generated: Pick<PolicyExport, "definition" | "assignments">, files: PolicyFiles, cwd: string): string[] {
  const { definition } = generated;
  const p = definition.properties;
  const rel = (file: string) => {
    const r = path.relative(cwd, file);
    return r.startsWith("..") ? file : r;
  };
  return generated.assignments.flatMap((assignment) => {
    const subscriptionId = assignment.id.split("/")[2]!;
    const parameters = JSON.stringify(assignment.properties.parameters);
    return [
      [
        "az policy definition create",
        `--subscription ${sh(subscriptionId)}`,
        `--name ${sh(definition.name)}`,
        `--display-name ${sh(p.displayName)}`,
        `--description ${sh(p.description)}`,
        `--mode ${p.mode}`,
        `--metadata ${Object.entries(p.metadata).map(([k, v]) => sh(`${k}=${String(v)}`)).join(" ")}`,
        `--rules ${sh(rel(files.rules))}`,
        `--params ${sh(rel(files.parameters))}`,
      ].join(" "),
      [
        "az policy assignment create",
        `--name ${sh(POLICY_ASSIGNMENT_NAME)}`,
        `--display-name ${sh(assignment.properties.displayName)}`,
        `--scope ${sh(`/subscriptions/${subscriptionId}`)}`,
        `--policy ${sh(policyDefinitionId(subscriptionId, definition.name))}`,
        `--params ${sh(parameters)}`,
        `--enforcement-mode ${assignment.properties.enforcementMode}`,
      ].join(" "),
    ];
  });
}

/**
 * Validates the output against the documented policy schemas before anything is written. ajv is a
 * devDependency: in a checkout it is there; an install without dev dependencies writes unvalidated
 * output and says so (`undefined`).
 */
export async function validatePolicyOutput(definition: PolicyDefinitionResource, assignments: readonly PolicyAssignmentResource[]): Promise<string[] | undefined> {
  let Ajv: typeof import("ajv").Ajv;
  try {
    ({ Ajv } = await import("ajv"));
  } catch {
    return undefined;
  }
  const ajv = new Ajv(POLICY_SCHEMA_AJV_OPTIONS);
  const describe = (what: string, errors: typeof ajv.errors) => (errors ?? []).map((e) => `${what}${e.instancePath || "/"}: ${e.message ?? "invalid"}`);
  const checkDefinition = ajv.compile(POLICY_DEFINITION_SCHEMA);
  const checkAssignment = ajv.compile(POLICY_ASSIGNMENT_SCHEMA);
  const problems = checkDefinition(definition) ? [] : describe("definition", checkDefinition.errors);
  assignments.forEach((a, i) => {
    if (!checkAssignment(a)) problems.push(...describe(`assignment[${i}]`, checkAssignment.errors));
  });
  return problems;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export async function runPolicy(ctx: CliContext, options: PolicyOptions): Promise<number> {
  const { config } = ctx.settings;
  const resources = ctx.reader.dependencies({ invocationId: "cli", functionName: "policy" }).resources;
  const snapshots = await storedSnapshots(resources, config.subscriptions);
  ctx.log.info({ snapshots: snapshots.length, subscriptions: config.subscriptions }, "stored resources read");

  const effect = options.effect === "audit" ? "Audit" : "Deny";
  const generated = generatePolicy(snapshots, {
    subscriptions: config.subscriptions,
    maxRegions: config.policy.maxRegions,
    exceptionTag: config.policy.exceptionTag,
    effect,
    generatedAt: ctx.io.clock.now().toISOString(),
  });

  const problems = await validatePolicyOutput(generated.definition, generated.assignments);
  if (problems && problems.length > 0) {
    ctx.io.stderr(`ERROR: the generated policy does not match Azure Policy's definition structure; nothing was written:\n${problems.map((p) => `  ${p}`).join("\n")}\n`);
    return 1;
  }

  const files = policyFiles(options.out, ctx.io.cwd);
  mkdirSync(path.dirname(files.definition), { recursive: true });
  writeFileSync(files.definition, json(generated.definition));
  writeFileSync(files.assignment, json(generated.assignments));
  writeFileSync(files.rules, json(generated.definition.properties.policyRule));
  writeFileSync(files.parameters, json(generated.definition.properties.parameters));
  const commands = azCommands(generated, files, ctx.io.cwd);

  ctx.output.print({
    json: {
      definitionFile: files.definition,
      assignmentFile: files.assignment,
      rulesFile: files.rules,
      parametersFile: files.parameters,
      effect,
      maxRegions: config.policy.maxRegions,
      exceptionTag: config.policy.exceptionTag,
      validated: problems !== undefined,
      specializedImageDefinitions: generated.specialized.map((d) => ({ id: d.id, knownFrom: d.evidence })),
      notListed: generated.unknown.map((id) => ({ id, reason: "osState unknown" })),
      commands,
    },
    rows: generated.specialized.map((d) => ({ ImageDefinition: d.id, KnownFrom: d.evidence.join(", "), Effect: effect })),
  });

  ctx.note(`Wrote ${files.definition} (${generated.specialized.length} Specialized image definition(s), effect ${effect}, maxRegions ${config.policy.maxRegions}) and ${files.assignment}.`);
  if (problems === undefined) ctx.warn("ajv is not installed (a devDependency), so the policy was not checked against the definition schema.");
  ctx.warn(
    `Azure Policy cannot read the exception tag's value: a resource carrying the tag '${config.policy.exceptionTag}' is exempt whatever its reason or expiry. ` +
      "gallery-watch still judges the tag (an expired or unreadable exception reopens its finding).",
  );
  for (const id of generated.unknown) {
    ctx.warn(`not listed: ${parseResourceId(id).display}: gallery-watch could not read its osState (grant Reader, then sweep again).`);
  }
  ctx.note("Regenerate after a sweep finds new Specialized definitions. Create and assign it in each watched subscription:");
  for (const command of commands) ctx.note(`  ${command}`);
  return 0;
}

export function policyCommand(context: ContextFor): Command {
  return new Command("policy")
    .summary("write a companion Azure Policy from what gallery-watch knows")
    .description(
      "Write an Azure Policy definition (and assignment examples, one per watched subscription) that denies at PUT time " +
        "a scale set using an image definition gallery-watch knows to be Specialized (or a version of it), and an image version " +
        "under such a definition with more target regions than GW_MAX_REGIONS. A resource carrying the GW_EXCEPTION_TAG tag is exempt " +
        "(Azure Policy checks only that the tag exists, not its expiry). Prints the az commands that create and assign it.",
    )
    .configureHelp({ showGlobalOptions: true })
    .requiredOption("--out <file>", "where to write the definition (e.g. policy.json); the assignment goes to policy.assignment.json beside it")
    .addOption(new Option("--effect <effect>", "what Azure does with a matching request").choices(EFFECT_CHOICES).default("deny"))
    .addHelpText("after", "\nExamples:\n  gallery-watch policy --out policy.json\n  gallery-watch policy --out policy.json --effect audit --output json\n  gallery-watch sweep --wait && gallery-watch policy --out policy.json\n")
    .action(async (options: PolicyOptions, command: Command) => {
      process.exitCode = await runPolicy(context(command, [...READ_WATCHED, "GW_MAX_REGIONS", "GW_EXCEPTION_TAG"]), options);
    });
}
