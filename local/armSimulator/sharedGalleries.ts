/**
 * Reads of galleries shared with the caller: direct shared (`sharedGalleries`, by the gallery's
 * unique name) and community (`communityGalleries`, by its public name), both in a `{location}`
 * of the reading subscription (GalleryRP.json 2025-03-03: SharedGalleries_Get/List,
 * SharedGalleryImages_Get/List, SharedGalleryImageVersions_Get/List, CommunityGalleries_Get,
 * CommunityGalleryImages_Get/List, CommunityGalleryImageVersions_Get/List).
 *
 * Bodies as Microsoft's azure-cli recordings show them (../shared/fixtures/azure-cli-recordings/):
 * no ARM id, `identifier.uniqueId` `/SharedGalleries/{uniqueName}/Images/{image}/Versions/{v}`
 * (capitalised segments), `location` as the request's path gave it (`CentralUSEUAP`, `eastus`),
 * an image's `osState`, `architecture` (x64 unless set) and `recommended` (test_create_vm_with_shared_gallery_image.json
 * #13–#14, test_community_gallery_operations.json #19–#23).
 *
 * Who may read: a direct-shared gallery is `permissions: Groups` and lists the reading subscription,
 * or a tenant (the simulator has one tenant, so a tenant group admits every subscription); a
 * community gallery is readable by anyone once `communityGalleryEnabled` (after the share action's
 * EnableCommunity; before it, nothing is public — Learn: "Share images using a community gallery").
 */
import type { Estate, Json } from "./estate.js";
import { atLeast } from "./apiVersions.js";

export type SharedKind = "shared" | "community";

export interface SharedPath {
  readonly kind: SharedKind;
  readonly subscriptionId: string;
  readonly location: string;
  /** Absent for the list of shared galleries. */
  readonly gallery?: string;
  readonly image?: string;
  readonly version?: string;
  /** `images` or `versions` when the path lists them. */
  readonly list?: "galleries" | "images" | "versions";
}

/** `/subscriptions/{s}/providers/Microsoft.Compute/locations/{l}/{sharedGalleries|communityGalleries}[/{g}[/images[/{i}[/versions[/{v}]]]]]`. */
export function parseSharedPath(path: string): SharedPath | undefined {
  const s = path.split("/").filter(Boolean);
  const t = s.map((x) => x.toLowerCase());
  if (t[0] !== "subscriptions" || t[2] !== "providers" || t[3] !== "microsoft.compute" || t[4] !== "locations" || s.length < 7) return undefined;
  const kind: SharedKind | undefined = t[6] === "sharedgalleries" ? "shared" : t[6] === "communitygalleries" ? "community" : undefined;
  if (!kind) return undefined;
  const base = { kind, subscriptionId: s[1]!, location: s[5]! };
  const rest = s.slice(7);
  const r = rest.map((x) => x.toLowerCase());
  if (rest.length === 0) return kind === "shared" ? { ...base, list: "galleries" } : undefined;
  if (rest.length === 1) return { ...base, gallery: rest[0]! };
  if (r[1] !== "images") return undefined;
  if (rest.length === 2) return { ...base, gallery: rest[0]!, list: "images" };
  if (rest.length === 3) return { ...base, gallery: rest[0]!, image: rest[2]! };
  if (r[3] !== "versions") return undefined;
  if (rest.length === 4) return { ...base, gallery: rest[0]!, image: rest[2]!, list: "versions" };
  if (rest.length === 5) return { ...base, gallery: rest[0]!, image: rest[2]!, version: rest[4]! };
  return undefined;
}

/**
 * Finds galleries by unique name and public name. The names are indexed as galleries are seen; a
 * name not in the index (or whose gallery changed) is looked up once across the galleries.
 */
export class SharedGalleryIndex {
  private readonly byName = new Map<string, string>();

  constructor(private readonly estate: Estate) {}

  /** The gallery this subscription may read under `name`, or undefined. */
  find(kind: SharedKind, name: string, readerSubscriptionId: string): Json | undefined {
    const key = `${kind}|${name.toLowerCase()}`;
    const known = this.byName.get(key);
    const cached = known ? this.estate.get(known) : undefined;
    const gallery = cached && namesOf(kind, cached).includes(name.toLowerCase()) ? cached : this.rebuild(key);
    return gallery && readable(kind, gallery, readerSubscriptionId) ? gallery : undefined;
  }

  /** Every gallery shared directly with this subscription. */
  sharedWith(readerSubscriptionId: string): Json[] {
    return this.estate.ofType("", "gallery").filter((g) => readable("shared", g, readerSubscriptionId));
  }

  private rebuild(wanted: string): Json | undefined {
    this.byName.clear();
    let found: Json | undefined;
    for (const gallery of this.estate.ofType("", "gallery")) {
      for (const kind of ["shared", "community"] as const) {
        for (const name of namesOf(kind, gallery)) {
          const key = `${kind}|${name}`;
          this.byName.set(key, String(gallery.id));
          if (key === wanted) found = gallery;
        }
      }
    }
    return found;
  }
}

function namesOf(kind: SharedKind, gallery: Json): string[] {
  const properties = (gallery.properties ?? {}) as Json;
  if (kind === "shared") return properties.identifier?.uniqueName ? [String(properties.identifier.uniqueName).toLowerCase()] : [];
  return ((properties.sharingProfile?.communityGalleryInfo?.publicNames ?? []) as unknown[]).map((n) => String(n).toLowerCase());
}

function readable(kind: SharedKind, gallery: Json, readerSubscriptionId: string): boolean {
  if (gallery.properties?.provisioningState === "Deleting") return false;
  const sharing = (gallery.properties?.sharingProfile ?? {}) as Json;
  const permissions = String(sharing.permissions ?? "Private").toLowerCase();
  if (kind === "community") return permissions === "community" && sharing.communityGalleryInfo?.communityGalleryEnabled === true;
  if (permissions !== "groups") return false;
  return ((sharing.groups ?? []) as Json[]).some((group) => {
    const type = String(group.type ?? "").toLowerCase();
    const ids = ((group.ids ?? []) as unknown[]).map((id) => String(id).toLowerCase());
    return type === "aadtenants" ? ids.length > 0 : type === "subscriptions" && ids.includes(readerSubscriptionId.toLowerCase());
  });
}

const uniqueId = (kind: SharedKind, gallery: string, image?: string, version?: string) =>
  `/${kind === "shared" ? "SharedGalleries" : "CommunityGalleries"}/${gallery}${image ? `/Images/${image}` : ""}${version ? `/Versions/${version}` : ""}`;

/** A shared or community gallery as its Get answers. */
export function galleryBody(kind: SharedKind, name: string, location: string, gallery: Json, apiVersion: string): Json {
  const body: Json = { identifier: { uniqueId: uniqueId(kind, name) }, location, name };
  if (kind === "shared") return body;
  const info = (gallery.properties?.sharingProfile?.communityGalleryInfo ?? {}) as Json;
  const metadata = { ...pick(info, ["publisherUri", "publisherContact", "eula"]), publicNames: structuredClone(info.publicNames ?? []) };
  // 2021-07-01 answered the metadata beside the identifier (test_community_gallery_operations.json #19);
  // GalleryRP 2022-08-03 and later declare it under `properties` (CommunityGalleryProperties.communityMetadata).
  return atLeast(apiVersion, "2022-08-03") ? { ...body, properties: { communityMetadata: metadata } } : { ...body, communityMetadata: metadata };
}

/** A shared or community gallery image (from the image definition). */
export function imageBody(kind: SharedKind, gallery: string, location: string, definition: Json): Json {
  const p = (definition.properties ?? {}) as Json;
  return {
    identifier: { uniqueId: uniqueId(kind, gallery, String(definition.name)) },
    properties: {
      ...pick(p, ["osType", "osState", "endOfLifeDate", "identifier", "disallowed", "hyperVGeneration", "features", "purchasePlan", "eula", "privacyStatementUri"]),
      recommended: structuredClone(p.recommended ?? {}),
      hyperVGeneration: p.hyperVGeneration ?? "V1",
      architecture: p.architecture ?? "x64",
    },
    location,
    name: definition.name,
  };
}

/**
 * A shared or community gallery image version: published date, latest exclusion, end of life and
 * the OS disk (`diskSizeGB`, `hostCaching`) as test_community_gallery_operations.json #22 answers.
 */
export function versionBody(kind: SharedKind, gallery: string, image: string, location: string, version: Json): Json {
  const p = (version.properties ?? {}) as Json;
  const publishing = (p.publishingProfile ?? {}) as Json;
  const os = p.storageProfile?.osDiskImage as Json | undefined;
  return {
    identifier: { uniqueId: uniqueId(kind, gallery, image, String(version.name)) },
    properties: {
      publishedDate: publishing.publishedDate,
      ...(publishing.endOfLifeDate ? { endOfLifeDate: publishing.endOfLifeDate } : {}),
      excludeFromLatest: publishing.excludeFromLatest ?? false,
      ...(os?.sizeInGB !== undefined ? { storageProfile: { osDiskImage: { diskSizeGB: os.sizeInGB, hostCaching: os.hostCaching ?? "ReadWrite" } } } : {}),
    },
    location,
    name: version.name,
  };
}

function pick(source: Json, keys: readonly string[]): Json {
  return Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, structuredClone(source[k])]));
}
