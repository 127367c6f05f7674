import type { Severity, Violation } from "../findings.js";
import { sharingReach, type GallerySnapshot, type SharingReach } from "../snapshots.js";
import type { Rule } from "./rule.js";
import { listFact, observation, portalLink, someOf, subscriptionArg } from "./describe.js";

/**
 * A gallery shared to other subscriptions/tenants (Groups) or to everyone (Community) hands its
 * specialized images — and the identities baked into them — to people outside the team.
 *
 * Judged by what ARM says the sharing reaches now (`sharingReach`), not by the permission alone:
 * - public (Community, enabled): critical — anyone in Azure can use it;
 * - shared with subscriptions/tenants (Groups with at least one): high;
 * - Community prepared (`communityGalleryEnabled: false`): medium — nothing is public yet, but the
 *   gallery exists to be published (Azure cannot turn a private gallery into a community one
 *   later: Learn, "Share images by using a community gallery", Limitations) and one
 *   `az sig share enable-community` publishes every image in it. Enabling then escalates the same
 *   finding to critical, and that card says what changed (reach, severity);
 * - Groups with no subscription or tenant: no finding — direct sharing reaches only what
 *   `az sig share add` added (Learn, "Share a gallery with all users in a subscription or
 *   tenant"), so nobody outside has access yet; the finding opens when the first is added.
 */
const REACH: Readonly<Partial<Record<SharingReach, { severity: Severity; text: string; rank: number }>>> = {
  public: { severity: "critical", text: "public: anyone in Azure", rank: 2 },
  groups: { severity: "high", text: "other subscriptions/tenants", rank: 1 },
  communityPrepared: { severity: "medium", text: "Community prepared, not public yet", rank: 0 },
};

const reachText = (reach: SharingReach) => REACH[reach]?.text ?? (reach === "unknown" ? "unknown" : "nobody outside");

export const sharedOutside: Rule<GallerySnapshot> = {
  id: "shared-outside",
  appliesTo: "gallery",
  title: "Gallery with specialized images shared outside",
  evaluate(gallery, related, policy): Violation | undefined {
    const reach = sharingReach(gallery.sharing);
    const judged = REACH[reach];
    if (!judged) return undefined;
    const specialized = related.definitions.filter((d) => d.osState === "Specialized").map((d) => d.id.image ?? "").sort();
    if (specialized.length === 0) return undefined;
    const groups = gallery.sharing.groups.flatMap((g) => g.ids.map((id) => `${g.type}:${id}`)).sort();
    const named = specialized.length <= 5 ? specialized.join(", ") : `${specialized.slice(0, 5).join(", ")} and ${specialized.length - 5} more`;
    const holds = `holds ${specialized.length} specialized image definition(s): ${named}`;
    const args = `--resource-group ${gallery.id.resourceGroup} --gallery-name ${gallery.id.gallery} ${subscriptionArg(gallery.id)}`;
    const summary =
      reach === "public"
        ? `Gallery ${gallery.id.gallery} is published to the Azure community gallery — anyone in Azure can use it — and ${holds}.`
        : reach === "groups"
          ? `Gallery ${gallery.id.gallery} is shared with ${groups.length} other subscription(s)/tenant(s) and ${holds}.`
          : `Gallery ${gallery.id.gallery} is set up for Community sharing but not public yet (communityGalleryEnabled is false); one \`az sig share enable-community\` would make it public to every Azure tenant, and it ${holds}.`;
    return {
      ruleId: "shared-outside",
      severity: judged.severity,
      resourceKey: gallery.id.key,
      resourceId: gallery.id.display,
      resourceKind: "gallery",
      summary,
      facts: {
        permissions: gallery.sharing.permissions,
        reach: judged.text,
        sharedWith: groups,
        publicNames: [...(gallery.sharing.community?.publicNames ?? [])].sort(),
        specializedDefinitions: specialized,
      },
      // Public is worse than any group sharing; wider sharing and more images are worse.
      magnitude: judged.rank * 1_000_000 + groups.length * 100 + specialized.length,
      remediation: {
        advice:
          reach === "communityPrepared"
            ? "Do not enable Community sharing for a gallery holding specialized images: reset its sharing, or move the specialized definitions to a private gallery."
            : "Make the gallery private again, or move the specialized definitions to a private gallery.",
        commands: [`az sig share reset ${args}`],
        portalUrl: portalLink(gallery.id, policy),
      },
    };
  },

  observe(gallery, related) {
    const specialized = related.definitions.filter((d) => d.osState === "Specialized").map((d) => d.id.image ?? "").sort();
    const permissions = gallery.sharing.permissions;
    const reach = sharingReach(gallery.sharing);
    const summary =
      reach === "nobody" && permissions.toLowerCase() === "groups"
        ? `Gallery ${gallery.id.gallery} is set up for direct sharing (Groups) but shared with no subscription or tenant now.`
        : REACH[reach]
          ? `Gallery ${gallery.id.gallery} is still shared (${permissions}, ${reachText(reach)}) but holds no specialized image definition now.`
          : `Gallery ${gallery.id.gallery} is ${permissions} now.`;
    return observation("shared-outside", gallery, summary, {
      permissions,
      reach: reachText(reach),
      sharedWith: gallery.sharing.groups.flatMap((g) => g.ids.map((id) => `${g.type}:${id}`)).sort(),
      publicNames: [...(gallery.sharing.community?.publicNames ?? [])].sort(),
      specializedDefinitions: specialized,
    });
  },

  resolution(before, now) {
    if (before.facts.permissions !== now.facts.permissions) return now.summary.replace(/\.$/, ` (was ${String(before.facts.permissions)}).`);
    const sharedBefore = listFact(before.facts.sharedWith);
    if (sharedBefore.length > 0 && listFact(now.facts.sharedWith).length === 0) return now.summary.replace(/\.$/, ` (was shared with ${someOf(sharedBefore, 5)}).`);
    const was = listFact(before.facts.specializedDefinitions);
    return now.summary.replace(/\.$/, ` (was ${was.length}: ${someOf(was, 5)}).`);
  },
};
