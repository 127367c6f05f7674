import type { AccessFacts } from "../access.js";
import type { GallerySnapshot, ImageDefinitionSnapshot, ImageVersionSnapshot, MachineSnapshot } from "../snapshots.js";

/**
 * What a rule may look at besides its subject. Read-only and already fetched: rules do no I/O.
 * - version subject: its `definition` (and `gallery`)
 * - definition subject: its `gallery`, its `versions`
 * - gallery subject: its `definitions`
 * - scale set or VM subject: the `definition` it references and that definition's `versions` (to
 *   resolve `latest`, and to read the end of life of the version it runs)
 * - version subject, when its definition is specialized (or unknown): the `machines` (scale sets
 *   and VMs) that run it now, from the store's reference index
 * - definition subject, when specialized: the role assignments and role definitions that decide who
 *   can use it (`access`, shared/domain/access.ts)
 */
export interface RelatedResources {
  readonly gallery?: GallerySnapshot;
  readonly definition?: ImageDefinitionSnapshot;
  readonly definitions: readonly ImageDefinitionSnapshot[];
  readonly versions: readonly ImageVersionSnapshot[];
  /** Absent: not read (the version's definition is generalized, or the subject is not a version). */
  readonly machines?: readonly MachineSnapshot[];
  /** Absent: not read (the definition is generalized, or access could not be read): `broad-access` reaches no verdict. */
  readonly access?: AccessFacts;
}

export const NO_RELATED: RelatedResources = { definitions: [], versions: [] };
