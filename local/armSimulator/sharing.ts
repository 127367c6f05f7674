/**
 * Gallery sharing as the Gallery RP serves it.
 *
 * Reads (Microsoft's azure-cli recordings, ../shared/fixtures/azure-cli-recordings/, win over the
 * hand-written examples): a plain GET of a gallery shared to groups or to the community carries its
 * `sharingProfile` (test_create_vm_with_shared_gallery_image.json #2: `{permissions: "Groups"}`;
 * test_community_gallery_operations.json #2: Community with `communityGalleryInfo`); a private
 * gallery's plain GET and its PUT answer carry none (test_gallery_e2e.json #0, #2, #4: no
 * `{permissions: "Private"}` added). With `$select=Permissions` (or `$expand=SharingProfile/Groups`)
 * every gallery has one, `{permissions: "Private"}` included (test_community_gallery_operations.json
 * #27, after Reset; Gallery_Get_WithSelectPermissions.json). Lists carry none
 * (Gallery_ListBySubscription.json, Gallery_ListByResourceGroup.json, test_gallery_e2e.json #3).
 *
 * The share action (POST .../share, `GallerySharingProfile_Update`, long-running) answers 202 with
 * an empty body, and its monitor poll 200 with an empty body (test_community_gallery_operations.json
 * #3, #5, #24, #26; test_create_vm_with_shared_gallery_image.json #10, #12). `EnableCommunity` needs
 * the community publisher information (publisher, contact, EULA and the public name assigned from
 * `publicNamePrefix`) set by a PUT/PATCH first; `Reset` makes the gallery Private again.
 */
import { armError, type ArmFailure } from "./errors.js";
import type { Json } from "./estate.js";

/** The gallery as a GET with these query parameters returns it. */
export function galleryView(body: Json, query: URLSearchParams): Json {
  const select = (query.get("$select") ?? "").toLowerCase().split(",").map((s) => s.trim());
  const expand = (query.get("$expand") ?? "").toLowerCase().split(",").map((s) => s.trim());
  if (select.includes("permissions") || expand.includes("sharingprofile/groups")) return body;
  const permissions = String((body.properties?.sharingProfile as Json | undefined)?.permissions ?? "Private");
  return permissions.toLowerCase() === "private" ? withoutSharing(body) : body;
}

/** Lists never carry the sharing profile. */
export function withoutSharing(body: Json): Json {
  const { sharingProfile: _sharing, ...properties } = (body.properties ?? {}) as Json;
  return { ...body, properties };
}

const OPERATIONS = ["Add", "Remove", "Reset", "EnableCommunity"] as const;
type ShareOperation = (typeof OPERATIONS)[number];

/** The sharing profile after the share action, or ARM's refusal. */
export function applyShare(profile: Json, request: unknown, galleryName: string): { profile: Json } | ArmFailure {
  const body = (typeof request === "object" && request !== null ? request : {}) as Json;
  const operation = OPERATIONS.find((o) => o.toLowerCase() === String(body.operationType ?? "").toLowerCase()) as ShareOperation | undefined;
  if (!operation) {
    return armError(400, "InvalidParameter", `The value '${String(body.operationType ?? "")}' of parameter 'sharingUpdate.operationType' is invalid. Allowed values are '${OPERATIONS.join("', '")}'.`, "sharingUpdate.operationType");
  }
  const requestedGroups = Array.isArray(body.groups) ? (body.groups as Json[]) : [];
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
      return { profile: { ...profile, permissions, groups: left } };
    }
    case "Reset":
      return { profile: { permissions: "Private" } };
    case "EnableCommunity": {
      const info = profile.communityGalleryInfo as Json | undefined;
      const missing = [...["publisherUri", "publisherContact", "eula"].filter((k) => !info?.[k]), ...((info?.publicNames as unknown[] | undefined)?.length ? [] : ["publicNamePrefix"])];
      if (missing.length > 0) {
        return armError(
          400,
          "InvalidParameter",
          `Gallery '${galleryName}' cannot be shared to the community: its 'sharingProfile.communityGalleryInfo' is not set (missing ${missing.join(", ")}). Set it with a PUT or PATCH of the gallery first.`,
          "sharingProfile.communityGalleryInfo",
        );
      }
      return { profile: { ...profile, permissions: "Community", communityGalleryInfo: { ...info, communityGalleryEnabled: true } } };
    }
  }
}
