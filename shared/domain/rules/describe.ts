/** Shared wording and links for rule results: names, portal links, `az` argument blocks. */
import type { FactValue, Observation } from "../findings.js";
import type { Policy } from "../policy.js";
import type { ResourceId } from "../resourceId.js";
import type { InheritedOsState, Snapshot } from "../snapshots.js";

export const DEFAULT_PORTAL = "https://portal.azure.com";

/** Portal deep link; the base comes from the policy (GW_PORTAL_URL), e.g. https://portal.azure.us for Azure Government. */
export function portalLink(id: ResourceId, portalBase: string | Pick<Policy, "portalUrl"> | undefined = DEFAULT_PORTAL): string {
  const base = (typeof portalBase === "string" ? portalBase : portalBase?.portalUrl) || DEFAULT_PORTAL;
  return `${base.replace(/\/+$/, "")}/#@/resource${id.display}/overview`;
}

/** An observation of `subject` by `ruleId`. */
export function observation(ruleId: Observation["ruleId"], subject: Snapshot, summary: string, facts: Readonly<Record<string, FactValue>>): Observation {
  return { ruleId, resourceKey: subject.id.key, resourceId: subject.id.display, resourceKind: subject.kind, summary, facts };
}

/** A stored fact as a list (facts are stored as JSON, so a list may come back as anything). */
export function listFact(value: FactValue | undefined): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** "a, b, c" or "a, b, … and 40 more": sentences stay short however long the list. */
export function someOf(values: readonly string[], max = 12): string {
  return values.length <= max ? values.join(", ") : `${values.slice(0, max).join(", ")} … and ${values.length - max} more`;
}

/** `gallery/definition[/version]` from a gallery image id, else the id unchanged. */
export function shortImage(id: string): string {
  const parts = id.split("/");
  const at = parts.findIndex((p) => p.toLowerCase() === "galleries");
  if (at < 0) return id;
  return parts.filter((_, i) => i > at && (i - at) % 2 === 1).join("/");
}

/** `--resource-group … --gallery-name … --gallery-image-definition … [--gallery-image-version …]` */
export function sigArgs(id: ResourceId): string {
  const parts = [`--resource-group ${id.resourceGroup}`, `--gallery-name ${id.gallery}`];
  if (id.image) parts.push(`--gallery-image-definition ${id.image}`);
  if (id.version) parts.push(`--gallery-image-version ${id.version}`);
  return parts.join(" ");
}

export function subscriptionArg(id: ResourceId): string {
  return `--subscription ${id.subscriptionId}`;
}

export function displayName(id: ResourceId): string {
  switch (id.kind) {
    case "gallery":
      return `gallery ${id.gallery}`;
    case "imageDefinition":
      return `image definition ${id.gallery}/${id.image}`;
    case "imageVersion":
      return `image version ${id.gallery}/${id.image}/${id.version}`;
    case "scaleSet":
      return `scale set ${id.scaleSet}`;
    case "virtualMachine":
      return `virtual machine ${id.virtualMachine}`;
  }
}

/** "specialized" or "of unknown osState (its definition could not be read)". */
export function osStatePhrase(osState: InheritedOsState): string {
  return osState === "Unknown" ? "of unknown osState (its image definition could not be read, so it is treated as specialized)" : "specialized";
}

/** Only specialized images — or ones we could not classify — are judged; generalized never are. */
export function isJudged(osState: InheritedOsState | undefined): osState is "Specialized" | "Unknown" {
  return osState === "Specialized" || osState === "Unknown";
}

export function dateOnly(iso: string): string {
  return iso.slice(0, 10);
}
