import type { Violation } from "../findings.js";
import { resolveLatest, type InheritedOsState, type ScaleSetSnapshot } from "../snapshots.js";
import type { RelatedResources } from "./related.js";
import type { Rule } from "./rule.js";
import { isJudged, observation, portalLink, shortImage } from "./describe.js";

interface ImageFacts {
  readonly image: string;
  readonly follows: "latest" | "pinned" | "shared gallery" | "community gallery";
  readonly osState: InheritedOsState;
  readonly resolvedVersion: string | null;
}

/**
 * What the scale set's instances are built from. For a definition reference (`latest`) this is
 * recomputed from the definition's current versions, so a new version landing under a
 * definition that scale sets follow is judged for them too.
 */
function imageFacts(scaleSet: ScaleSetSnapshot, related: RelatedResources): ImageFacts | { unresolvable: string; image: string } | undefined {
  const ref = scaleSet.imageReference;
  const resolved = scaleSet.image.outcome === "resolved" ? scaleSet.image : undefined;
  switch (ref.kind) {
    case "definition": {
      const osState = related.definition?.osState ?? resolved?.osState ?? "Unknown";
      const latest = related.versions.length > 0 ? resolveLatest(related.versions, scaleSet.location) : undefined;
      const resolvedVersion = latest?.version ?? resolved?.versionId?.split("/").pop() ?? null;
      return { image: ref.definitionId.display, follows: "latest", osState, resolvedVersion };
    }
    case "version":
      return { image: ref.versionId.display, follows: "pinned", osState: related.definition?.osState ?? resolved?.osState ?? "Unknown", resolvedVersion: ref.versionId.version ?? null };
    case "sharedGallery":
    case "communityGallery": {
      const follows = ref.kind === "sharedGallery" ? "shared gallery" : "community gallery";
      if (scaleSet.image.outcome === "unresolvable") return { unresolvable: scaleSet.image.reason, image: ref.id };
      if (resolved) return { image: ref.id, follows, osState: resolved.osState, resolvedVersion: resolved.versionId?.split("/").pop() ?? null };
      return { unresolvable: "the image could not be read", image: ref.id };
    }
    case "other":
      return scaleSet.image.outcome === "unresolvable" ? { unresolvable: scaleSet.image.reason, image: ref.description } : undefined;
  }
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
    const what = facts.follows === "latest" ? `follows ${facts.image.split("/").pop()} as latest${facts.resolvedVersion ? ` (now ${facts.resolvedVersion})` : ""}` : `uses ${facts.image.split("/").slice(-3).join("/")}`;
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
