/**
 * The thresholds and switches the rules run with. Built from settings by `loadConfig`;
 * the domain never reads the environment.
 */
import { RULE_IDS, type RuleId } from "./findings.js";

export interface Policy {
  /** replication-breadth: most distinct target regions a specialized version may have (default 2). */
  readonly maxRegions: number;
  /** replication-breadth: normalised region names a specialized version may use; empty = any. */
  readonly allowedRegions: readonly string[];
  /** replication-breadth: most replicas in total across regions (default 10). */
  readonly maxTotalReplicas: number;
  /** governance-tags: tag names required on specialized definitions and versions (case-insensitive). */
  readonly requiredTags: readonly string[];
  /** vm-use: lower-case subscription GUIDs where a VM may run a specialized image; empty = none. */
  readonly allowedSubscriptionsForSpecialized: readonly string[];
  /** vm-use: lower-case resource group ids (`/subscriptions/{id}/resourcegroups/{name}`) where a VM may run a specialized image; empty = none. */
  readonly allowedResourceGroupsForSpecialized: readonly string[];
  /** clones: most live machines (VMs plus scale-set instances) one specialized version may run (default 1). */
  readonly maxClones: number;
  /** broad-access: most principals that may hold read on one specialized image (GW_MAX_IMAGE_USERS, default 10). */
  readonly maxImageUsers: number;
  /** broad-access: lower-case object ids of the groups and identities approved to use specialized images (GW_APPROVED_IMAGE_USERS); empty: not checked. */
  readonly approvedImageUsers: readonly string[];
  /**
   * broad-access: gallery-watch's own identity (GW_APP_PRINCIPAL_ID, lower case), which must read
   * every image to watch it: not counted as a user while every role granting it the image only reads.
   */
  readonly appPrincipalId?: string;
  /** Name of the exception tag (default `gallery-watch-exception`). Value: `reason=...;expires=YYYY-MM-DD`. */
  readonly exceptionTag: string;
  /**
   * Who may set exceptions (GW_EXCEPTION_APPROVERS): UPNs and object ids, lower case. Empty:
   * anyone but whoever raised the finding (shared/domain/exceptions.ts: separationOfDuties).
   */
  readonly exceptionApprovers?: readonly string[];
  /** Rules switched on. */
  readonly enabledRules: ReadonlySet<RuleId>;
  /** Azure portal base for the findings' deep links (GW_PORTAL_URL; sovereign clouds have their own portal). Absent: the public portal. */
  readonly portalUrl?: string;
}

export const DEFAULT_POLICY: Policy = {
  maxRegions: 2,
  allowedRegions: [],
  maxTotalReplicas: 10,
  requiredTags: ["owner", "approver"],
  allowedSubscriptionsForSpecialized: [],
  allowedResourceGroupsForSpecialized: [],
  // A specialized image is for one-off recovery: one machine holds its identity at a time; a second
  // one already duplicates its computer name, SID, cached credentials and agent registrations.
  maxClones: 1,
  // A handful of operators and the pipeline that restores from it; gallery-watch's own reader counts too.
  maxImageUsers: 10,
  approvedImageUsers: [],
  exceptionTag: "gallery-watch-exception",
  exceptionApprovers: [],
  enabledRules: new Set<RuleId>(RULE_IDS),
  portalUrl: "https://portal.azure.com",
};
