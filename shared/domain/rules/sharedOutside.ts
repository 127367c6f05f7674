import type { Violation } from "../findings.js";
import type { GallerySnapshot } from "../snapshots.js";
import type { Rule } from "./rule.js";
import { listFact, observation, portalLink, someOf, subscriptionArg } from "./describe.js";

/**
 * A gallery shared to other subscriptions/tenants (Groups) or to everyone (Community) hands its
 * specialized images — and the identities baked into them — to people outside the team.
 */
export const sharedOutside: Rule<GallerySnapshot> = {
  id: "shared-outside",
  appliesTo: "gallery",
  title: "Gallery with specialized images shared outside",
  evaluate(gallery, related, policy): Violation | undefined {
    const permission = gallery.sharing.permissions.toLowerCase();
    if (permission !== "groups" && permission !== "community") return undefined;
    const specialized = related.definitions.filter((d) => d.osState === "Specialized").map((d) => d.id.image ?? "").sort();
    if (specialized.length === 0) return undefined;
    const community = permission === "community";
    const groups = gallery.sharing.groups.flatMap((g) => g.ids.map((id) => `${g.type}:${id}`)).sort();
    const named = specialized.length <= 5 ? specialized.join(", ") : `${specialized.slice(0, 5).join(", ")} and ${specialized.length - 5} more`;
    const args = `--resource-group ${gallery.id.resourceGroup} --gallery-name ${gallery.id.gallery} ${subscriptionArg(gallery.id)}`;
    return {
      ruleId: "shared-outside",
      severity: community ? "critical" : "high",
      resourceKey: gallery.id.key,
      resourceId: gallery.id.display,
      resourceKind: "gallery",
      summary: community
        ? `Gallery ${gallery.id.gallery} is shared to Community — anyone in Azure can use it — and holds ${specialized.length} specialized image definition(s): ${named}.`
        : `Gallery ${gallery.id.gallery} is shared with ${groups.length} other subscription(s)/tenant(s) and holds ${specialized.length} specialized image definition(s): ${named}.`,
      facts: {
        permissions: gallery.sharing.permissions,
        sharedWith: groups,
        publicNames: [...(gallery.sharing.community?.publicNames ?? [])].sort(),
        specializedDefinitions: specialized,
      },
      // Public is worse than any group sharing; wider sharing and more images are worse.
      magnitude: (community ? 1_000_000 : 0) + groups.length * 100 + specialized.length,
      remediation: {
        advice: "Make the gallery private again, or move the specialized definitions to a private gallery.",
        commands: [`az sig share reset ${args}`],
        portalUrl: portalLink(gallery.id, policy),
      },
    };
  },

  observe(gallery, related) {
    const specialized = related.definitions.filter((d) => d.osState === "Specialized").map((d) => d.id.image ?? "").sort();
    const permissions = gallery.sharing.permissions;
    const shared = ["groups", "community"].includes(permissions.toLowerCase());
    const summary = shared
      ? `Gallery ${gallery.id.gallery} is still shared (${permissions}) but holds no specialized image definition now.`
      : `Gallery ${gallery.id.gallery} is ${permissions} now.`;
    return observation("shared-outside", gallery, summary, {
      permissions,
      sharedWith: gallery.sharing.groups.flatMap((g) => g.ids.map((id) => `${g.type}:${id}`)).sort(),
      publicNames: [...(gallery.sharing.community?.publicNames ?? [])].sort(),
      specializedDefinitions: specialized,
    });
  },

  resolution(before, now) {
    if (before.facts.permissions !== now.facts.permissions) return now.summary.replace(/\.$/, ` (was ${String(before.facts.permissions)}).`);
    const was = listFact(before.facts.specializedDefinitions);
    return now.summary.replace(/\.$/, ` (was ${was.length}: ${someOf(was, 5)}).`);
  },
};
