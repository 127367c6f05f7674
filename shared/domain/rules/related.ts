import type { GallerySnapshot, ImageDefinitionSnapshot, ImageVersionSnapshot } from "../snapshots.js";

/**
 * What a rule may look at besides its subject. Read-only and already fetched: rules do no I/O.
 * - version subject: its `definition` (and `gallery`)
 * - definition subject: its `gallery`, its `versions`
 * - gallery subject: its `definitions`
 * - scale set subject: the `definition` it references and that definition's `versions` (to resolve `latest`)
 */
export interface RelatedResources {
  readonly gallery?: GallerySnapshot;
  readonly definition?: ImageDefinitionSnapshot;
  readonly definitions: readonly ImageDefinitionSnapshot[];
  readonly versions: readonly ImageVersionSnapshot[];
}

export const NO_RELATED: RelatedResources = { definitions: [], versions: [] };
