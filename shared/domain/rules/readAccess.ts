import type { Violation } from "../findings.js";
import type { ResourceId } from "../resourceId.js";
import { displayName, portalLink } from "./describe.js";

/** The watcher could not read a resource: a blind spot is a finding too, never silence. */
export function readAccessViolation(id: ResourceId, message: string, portalBase?: string): Violation {
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
      portalUrl: portalLink(id, portalBase),
    },
  };
}
