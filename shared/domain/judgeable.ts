/**
 * What the rules may conclude when part of what they need could not be read. Pure.
 *
 * Unknown is never clean and never critical: a rule that cannot see its facts (a version whose
 * definition is unreadable, a gallery whose sharing ARM did not return, a scale set whose image
 * gallery-watch may not read) reaches *no verdict* — its stored finding stays exactly as it was,
 * neither resolved nor raised.
 */
import type { RuleId, Violation } from "./findings.js";
import type { ResourceId } from "./resourceId.js";
import type { Snapshot } from "./snapshots.js";
import type { RelatedResources } from "./rules/related.js";
import { RULES } from "./rules/index.js";
import { displayName, portalLink } from "./rules/describe.js";
import { imageUsers } from "./rules/broadAccess.js";

/** The rules that apply to a kind of resource, derived from the rule table. */
export function rulesFor(kind: Snapshot["kind"]): RuleId[] {
  return [...new Set(RULES.filter((r) => r.appliesTo === kind).map((r) => r.id))];
}

/**
 * Rules that cannot judge `subject` with `related` as read. `blind` says that something the
 * subject depends on could not be read at all (no access).
 */
export function undecidableRules(subject: Snapshot, related: RelatedResources, blind: boolean): Set<RuleId> {
  const all = () => new Set(rulesFor(subject.kind));
  switch (subject.kind) {
    case "imageDefinition":
      if (subject.osState === "Unknown") return all();
      // `broad-access` needs who can use it: unread, or an assignment whose role could not be read, no verdict.
      return subject.osState === "Specialized" && (related.access === undefined || imageUsers(subject, related.access).unresolved.length > 0) ? new Set<RuleId>(["broad-access"]) : new Set();
    case "imageVersion":
      if (subject.osState === "Unknown") return all();
      // `clones` counts the machines running it, read only for a specialized version: unread, no verdict.
      return subject.osState === "Specialized" && related.machines === undefined ? new Set<RuleId>(["clones"]) : new Set();
    case "gallery": {
      if (blind || subject.sharing.permissions === "Unknown") return all();
      const known = related.definitions.some((d) => d.osState === "Specialized");
      return !known && related.definitions.some((d) => d.osState === "Unknown") ? all() : new Set();
    }
    default: {
      // A scale set or a VM.
      const image = subject.image;
      if (blind || image.outcome === "noAccess" || image.outcome === "pending") return all();
      const osState = related.definition?.osState ?? (image.outcome === "resolved" ? image.osState : undefined);
      if (image.outcome === "resolved" && osState === "Unknown") return all();
      // An image that could not be verified has no end of life gallery-watch can read.
      return image.outcome === "unresolvable" ? new Set<RuleId>(["used-after-end-of-life"]) : new Set();
    }
  }
}

/**
 * gallery-watch could not read something `subject`'s verdict depends on: a blind spot on the
 * subject, naming what could not be read. It resolves by itself once that read succeeds.
 */
export function blindSpotViolation(subject: ResourceId, unreadable: string, message: string, portalBase?: string): Violation {
  const what = unreadable.split("/").slice(-3).join("/");
  return {
    ruleId: "read-access",
    severity: "medium",
    resourceKey: subject.key,
    resourceId: subject.display,
    resourceKind: subject.kind,
    summary: `gallery-watch cannot read ${what}, which ${displayName(subject)} depends on (${message.slice(0, 160)}); its verdict cannot be reached.`,
    facts: { unreadable, reason: message.slice(0, 300) },
    magnitude: 1,
    remediation: {
      advice: "Grant gallery-watch's managed identity Reader on the subscription that holds it (or on its resource group).",
      commands: [`az role assignment create --assignee <gallery-watch identity principal id> --role Reader --scope ${scopeOf(unreadable)}`],
      portalUrl: portalLink(subject, portalBase),
    },
  };
}

function scopeOf(id: string): string {
  const m = /^\/subscriptions\/[^/]+(\/resourceGroups\/[^/]+)?/i.exec(id);
  return m ? m[0] : id;
}
