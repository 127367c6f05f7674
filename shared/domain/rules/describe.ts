/** Shared wording and links for rule results: names, portal links, `az` argument blocks. */
import type { ResourceId } from "../resourceId.js";
import type { InheritedOsState } from "../snapshots.js";

export const DEFAULT_PORTAL = "https://portal.azure.com";

export function portalLink(id: ResourceId, portalBase = DEFAULT_PORTAL): string {
  return `${portalBase.replace(/\/$/, "")}/#@/resource${id.display}/overview`;
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
