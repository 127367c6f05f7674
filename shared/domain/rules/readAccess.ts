import type { Finding, Violation } from "../findings.js";
import type { Policy } from "../policy.js";
import { tryParseResourceId, type ResourceId } from "../resourceId.js";
import { displayName, portalLink } from "./describe.js";

/**
 * The watcher could not read a resource: a blind spot is a finding too, never silence.
 * `portal` is the policy (its `portalUrl`, from GW_PORTAL_URL) or, as before, the portal base itself.
 */
export function readAccessViolation(id: ResourceId, message: string, portal?: string | Pick<Policy, "portalUrl">): Violation {
  return {
    ruleId: "read-access",
    severity: "medium",
    resourceKey: id.key,
    resourceId: id.display,
    resourceKind: id.kind,
    summary: `gallery-watch cannot read ${displayName(id)} (${message.slice(0, 160)}); changes to it go unchecked.`,
    facts: { reason: message.slice(0, 300) },
    magnitude: 1,
    remediation: {
      advice: "Grant gallery-watch's managed identity Reader on the subscription (or resource group).",
      commands: [`az role assignment create --assignee <gallery-watch identity principal id> --role Reader --scope /subscriptions/${id.subscriptionId}`],
      portalUrl: portalLink(id, portal),
    },
  };
}

/** The resolved read-access finding: access is back (there is no rule to observe it, the successful read is the news). */
export function readAccessRestoredSummary(before: Pick<Finding, "resourceId" | "facts">): string {
  const parsed = tryParseResourceId(before.resourceId);
  return `gallery-watch can read ${parsed.ok ? displayName(parsed.id) : before.resourceId} again, so changes to it are checked (it could not: ${String(before.facts.reason ?? "access denied").slice(0, 160)}).`;
}
