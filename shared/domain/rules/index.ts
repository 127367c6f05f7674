/** The rules, as data. Order is the order findings are reported in. */
import type { Snapshot } from "../snapshots.js";
import type { Rule } from "./rule.js";
import { replicationBreadth } from "./replicationBreadth.js";
import { scaleSetUse } from "./scaleSetUse.js";
import { vmUse } from "./vmUse.js";
import { clones } from "./clones.js";
import { usedAfterEndOfLifeOnScaleSet, usedAfterEndOfLifeOnVm } from "./usedAfterEndOfLife.js";
import { sharedOutside } from "./sharedOutside.js";
import { selectableAsLatest } from "./selectableAsLatest.js";
import { lifecycle } from "./lifecycle.js";
import { broadAccess } from "./broadAccess.js";
import { governanceTagsOnDefinition, governanceTagsOnVersion } from "./governanceTags.js";

export const RULES: ReadonlyArray<Rule<Snapshot>> = [
  replicationBreadth,
  scaleSetUse,
  vmUse,
  clones,
  usedAfterEndOfLifeOnScaleSet,
  usedAfterEndOfLifeOnVm,
  sharedOutside,
  selectableAsLatest,
  lifecycle,
  governanceTagsOnDefinition,
  governanceTagsOnVersion,
  broadAccess,
] as ReadonlyArray<Rule<any>>;
