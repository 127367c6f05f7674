/**
 * Gallery sharing as the Gallery RP serves it.
 *
 * Reads: a gallery carries `properties.sharingProfile` only when asked for. Compare
 * Gallery_Get.json and the list examples (Gallery_ListBySubscription.json,
 * Gallery_ListByResourceGroup.json: no sharingProfile) with Gallery_Get_WithSelectPermissions.json
 * (`$select=Permissions`: sharingProfile with permissions and groups) and
 * Gallery_Get_WithExpandSharingProfileGroups.json (`$expand=SharingProfile/Groups`: the same).
 *
 * The share action (POST .../share, `GallerySharingProfile_Update`, long-running): answers the
 * request echoed — Gallery_AddToSharingProfile.json, Gallery_ResetSharingProfile.json,
 * Gallery_EnableCommunityGallery.json. `EnableCommunity` needs the gallery's
 * `sharingProfile.communityGalleryInfo` (publisher, contact, EULA, public name prefix: the
 * "Community gallery" fields of `CommunityGalleryInfo` in GalleryRP.json) set by a PUT/PATCH first;
 * `Reset` makes the gallery Private again.
 */
import { randomUUID } from "node:crypto";
import { armError, type ArmFailure } from "./errors.js";
import type { Json } from "./estate.js";

/** The gallery as a GET with these query parameters returns it. */
export function galleryView(body: Json, query: URLSearchParams): Json {
  const select = (query.get("$select") ?? "").toLowerCase().split(",").map((s) => s.trim());
  const expand = (query.get("$expand") ?? "").toLowerCase().split(",").map((s) => s.trim());
  if (select.includes("permissions") || expand.includes("sharingprofile/groups")) return body;
  return withoutSharing(body);
}

/** Lists never carry the sharing profile. */
export function withoutSharing(body: Json): Json {
  const { sharingProfile: _sharing, ...properties } = (body.properties ?? {}) as Json;
  return { ...body, properties };
}

const OPERATIONS = ["Add", "Remove", "Reset", "EnableCommunity"] as const;
type ShareOperation = (typeof OPERATIONS)[number];

/** The sharing profile after the share action, or ARM's refusal. */
export function applyShare(profile: Json, request: unknown, galleryName: string): { profile: Json; echo: Json } | ArmFailure {
  const body = (typeof request === "object" && request !== null ? request : {}) as Json;
  const operation = OPERATIONS.find((o) => o.toLowerCase() === String(body.operationType ?? "").toLowerCase()) as ShareOperation | undefined;
  if (!operation) {
    return armError(400, "InvalidParameter", `The value '${String(body.operationType ?? "")}' of parameter 'sharingUpdate.operationType' is invalid. Allowed values are '${OPERATIONS.join("', '")}'.`, "sharingUpdate.operationType");
  }
  const requestedGroups = Array.isArray(body.groups) ? (body.groups as Json[]) : [];
  const echo: Json = { operationType: operation, ...(requestedGroups.length > 0 ? { groups: structuredClone(requestedGroups) } : {}) };
  const groups: Array<{ type: string; ids: string[] }> = structuredClone(profile.groups ?? []);
  const merge = (type: string, ids: string[], add: boolean) => {
    let group = groups.find((g) => g.type.toLowerCase() === type.toLowerCase());
    if (!group) groups.push((group = { type, ids: [] }));
    group.ids = add ? [...new Set([...group.ids, ...ids])] : group.ids.filter((id) => !ids.includes(id));
  };
  switch (operation) {
    case "Add":
    case "Remove": {
      if (requestedGroups.length === 0) return armError(400, "InvalidParameter", `Required parameter 'sharingUpdate.groups' is missing (null) for operation '${operation}'.`, "sharingUpdate.groups");
      for (const g of requestedGroups) merge(String(g.type), ((g.ids ?? []) as unknown[]).map(String), operation === "Add");
      const left = groups.filter((g) => g.ids.length > 0);
      const permissions = operation === "Add" ? "Groups" : left.length > 0 ? "Groups" : "Private";
      return { profile: { ...profile, permissions, groups: left }, echo };
    }
    case "Reset":
      return { profile: { permissions: "Private" }, echo };
    case "EnableCommunity": {
      const info = profile.communityGalleryInfo as Json | undefined;
      const missing = ["publisherUri", "publisherContact", "eula", "publicNamePrefix"].filter((k) => !info?.[k]);
      if (missing.length > 0) {
        return armError(
          400,
          "InvalidParameter",
          `Gallery '${galleryName}' cannot be shared to the community: its 'sharingProfile.communityGalleryInfo' is not set (missing ${missing.join(", ")}). Set it with a PUT or PATCH of the gallery first.`,
          "sharingProfile.communityGalleryInfo",
        );
      }
      const prefix = String(info!.publicNamePrefix);
      return {
        profile: {
          ...profile,
          permissions: "Community",
          communityGalleryInfo: { ...info, communityGalleryEnabled: true, publicNames: (info!.publicNames as string[] | undefined)?.length ? info!.publicNames : [`${prefix}-${randomUUID()}`] },
        },
        echo,
      };
    }
  }
}
