import type { Violation } from "../findings.js";
import { resolveLatest, type InheritedOsState, type MachineSnapshot, type ScaleSetSnapshot } from "../snapshots.js";
import type { RelatedResources } from "./related.js";
import type { Rule } from "./rule.js";
import { isJudged, observation, portalLink, shortImage } from "./describe.js";

export interface ImageFacts {
  readonly image: string;
  readonly follows: "latest" | "pinned" | "shared gallery" | "community gallery" | "OS disk";
  readonly osState: InheritedOsState;
  readonly resolvedVersion: string | null;
  /** The full id of the gallery version it runs now, when it is one of ours (not another tenant's shared image). */
  readonly versionId?: string;
}

/**
 * What a scale set's instances (or a VM) are built from. For a definition reference (`latest`)
 * this is recomputed from the definition's current versions, so a new version landing under a
 * definition that machines follow is judged for them too. A VM attached from an OS disk runs
 * the version the disk was created from (resolved by the reader).
 */
export function imageFacts(machine: MachineSnapshot, related: RelatedResources): ImageFacts | { unresolvable: string; image: string } | undefined {
  const ref = machine.imageReference;
  const resolved = machine.image.outcome === "resolved" ? machine.image : undefined;
  switch (ref.kind) {
    case "definition": {
      const osState = related.definition?.osState ?? resolved?.osState ?? "Unknown";
      const latest = related.versions.length > 0 ? resolveLatest(related.versions, machine.location) : undefined;
      const resolvedVersion = latest?.version ?? resolved?.versionId?.split("/").pop() ?? null;
      const versionId = latest?.id.display ?? resolved?.versionId;
      return { image: ref.definitionId.display, follows: "latest", osState, resolvedVersion, ...(versionId ? { versionId } : {}) };
    }
    case "version":
      return { image: ref.versionId.display, follows: "pinned", osState: related.definition?.osState ?? resolved?.osState ?? "Unknown", resolvedVersion: ref.versionId.version ?? null, versionId: ref.versionId.display };
    case "osDisk": {
      if (machine.image.outcome === "unresolvable") return { unresolvable: machine.image.reason, image: ref.diskId };
      if (!resolved) return undefined; // a disk not made from a gallery image
      const versionId = resolved.versionId;
      return { image: versionId ?? resolved.definitionId, follows: "OS disk", osState: related.definition?.osState ?? resolved.osState, resolvedVersion: versionId?.split("/").pop() ?? null, ...(versionId ? { versionId } : {}) };
    }
    case "sharedGallery":
    case "communityGallery": {
      const follows = ref.kind === "sharedGallery" ? "shared gallery" : "community gallery";
      if (machine.image.outcome === "unresolvable") return { unresolvable: machine.image.reason, image: ref.id };
      if (resolved) return { image: ref.id, follows, osState: resolved.osState, resolvedVersion: resolved.versionId?.split("/").pop() ?? null };
      return { unresolvable: "the image could not be read", image: ref.id };
    }
    case "other":
      return machine.image.outcome === "unresolvable" ? { unresolvable: machine.image.reason, image: ref.description } : undefined;
  }
}

/** "follows base as latest (now 1.0.2)", "uses gal/base/1.0.0", "was created from gal/base/1.0.0's OS disk". */
export function usesPhrase(facts: ImageFacts): string {
  if (facts.follows === "latest") return `follows ${facts.image.split("/").pop()} as latest${facts.resolvedVersion ? ` (now ${facts.resolvedVersion})` : ""}`;
  if (facts.follows === "OS disk") return `runs an OS disk created from ${shortImage(facts.image)}`;
  return `uses ${facts.image.split("/").slice(-3).join("/")}`;
}

/**
 * A scale set built from a specialized image stamps the same machine identity onto every
 * instance ("180 proxy instances inherited duplicated machine state").
 */
export const scaleSetUse: Rule<ScaleSetSnapshot> = {
  id: "scale-set-use",
  appliesTo: "scaleSet",
  title: "Scale set built from a specialized image",
  evaluate(scaleSet, related, policy): Violation | undefined {
    const facts = imageFacts(scaleSet, related);
    if (facts === undefined) return undefined;
    const name = scaleSet.id.scaleSet ?? "";
    const base = {
      ruleId: "scale-set-use" as const,
      resourceKey: scaleSet.id.key,
      resourceId: scaleSet.id.display,
      resourceKind: "scaleSet" as const,
    };
    const remediation = {
      advice: "Point the scale set at a generalized image, then reimage its instances.",
      commands: [
        `az vmss update --resource-group ${scaleSet.id.resourceGroup} --name ${name} --subscription ${scaleSet.id.subscriptionId} --set virtualMachineProfile.storageProfile.imageReference.id=<generalized image definition id>`,
        `az vmss update-instances --resource-group ${scaleSet.id.resourceGroup} --name ${name} --subscription ${scaleSet.id.subscriptionId} --instance-ids "*"`,
      ],
      portalUrl: portalLink(scaleSet.id, policy),
    };
    if ("unresolvable" in facts) {
      // Cross-tenant images we cannot read are not assumed safe: said plainly, at lower severity.
      return {
        ...base,
        severity: "medium",
        summary: `Scale set ${name} (${scaleSet.capacity} instance(s)) runs an image gallery-watch could not verify (${facts.unresolvable}); it may be specialized.`,
        facts: { scaleSet: name, capacity: scaleSet.capacity, image: facts.image, reason: facts.unresolvable },
        // Not the capacity: autoscaling 10 → 12 instances is not a new problem. Severity carries how bad.
        magnitude: 1,
        remediation,
      };
    }
    if (!isJudged(facts.osState)) return undefined;
    const what = usesPhrase(facts);
    return {
      ...base,
      severity: scaleSet.capacity > 0 ? "critical" : "high",
      summary: `Scale set ${name} (${scaleSet.capacity} instance(s)) ${what}, a ${facts.osState === "Unknown" ? "possibly specialized (osState unknown)" : "specialized"} image: every instance inherits the same machine identity.`,
      facts: {
        scaleSet: name,
        capacity: scaleSet.capacity,
        image: facts.image,
        follows: facts.follows,
        resolvedVersion: facts.resolvedVersion,
        osState: facts.osState,
        orchestrationMode: scaleSet.orchestrationMode ?? null,
      },
      // Capacity is a fact, not the magnitude: autoscaling must not "escalate" and page anyone; 0 → n
      // instances still escalates through severity (high → critical).
      magnitude: 1,
      remediation,
    };
  },

  observe(scaleSet, related) {
    const name = scaleSet.id.scaleSet ?? "";
    const facts = imageFacts(scaleSet, related);
    const base = { scaleSet: name, capacity: scaleSet.capacity };
    if (facts === undefined) {
      const image = scaleSet.imageReference.kind === "other" ? scaleSet.imageReference.description : "its image";
      return observation("scale-set-use", scaleSet, `Scale set ${name} (${scaleSet.capacity} instance(s)) now uses ${image} (not a gallery image).`, { ...base, image, osState: null });
    }
    if ("unresolvable" in facts) return undefined; // evaluate flags these; nothing clean to observe
    const following = facts.follows === "latest" ? `, following latest${facts.resolvedVersion ? ` (now ${facts.resolvedVersion})` : ""}` : "";
    return observation("scale-set-use", scaleSet, `Scale set ${name} (${scaleSet.capacity} instance(s)) now uses ${shortImage(facts.image)} (${facts.osState})${following}.`, {
      ...base,
      image: facts.image,
      follows: facts.follows,
      resolvedVersion: facts.resolvedVersion,
      osState: facts.osState,
    });
  },

  resolution(before, now) {
    const was = typeof before.facts.image === "string" ? `; it used ${shortImage(before.facts.image)}${typeof before.facts.osState === "string" ? ` (${before.facts.osState})` : ""}` : "";
    return now.summary.replace(/\.$/, `${was}.`);
  },
};
