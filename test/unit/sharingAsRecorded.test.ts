/**
 * The gallery answers Azure really gave (Microsoft's azure-cli recordings, in ../shared/fixtures),
 * through the ARM reader's mapping and the shared-outside rule: what each sharing state reaches,
 * and the verdict on a gallery holding a specialized definition.
 */
import { describe, expect, it } from "vitest";
import { toGallerySnapshot } from "../../shared/adapters/arm/snapshotMapping.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import { sharingReach } from "../../shared/domain/snapshots.js";
import { sharedOutside } from "../../shared/domain/rules/sharedOutside.js";
import { aDefinition, policy } from "../support/snapshotBuilders.js";
import { fixturesDir, readFixture, SKIP_REASON } from "../support/fixtures.js";

interface Interaction { method: string; uri: string; command?: string; note?: string; body?: any }
const galleryAnswers = (file: string): Interaction[] =>
  readFixture<{ interactions: Interaction[] }>(`azure-cli-recordings/${file}.json`).interactions.filter((i) => i.method === "GET" && /\/galleries\/[^/?]+\?/.test(i.uri) && i.uri.includes("$select=Permissions"));

describe.skipIf(fixturesDir() === undefined)(`recorded gallery answers (${fixturesDir() ? "fixtures present" : SKIP_REASON})`, () => {
  const judge = (body: any) => {
    // As @azure/arm-compute hands the answer to the reader: `properties` flattened onto the model.
    const gallery = toGallerySnapshot(parseResourceId(body.id), { ...body, ...body.properties });
    return { reach: sharingReach(gallery.sharing), verdict: sharedOutside.evaluate(gallery, { definitions: [aDefinition()], versions: [] }, policy(), new Date()) };
  };

  it("Community: prepared at create (medium, not public), published after enable-community (critical), private after reset", () => {
    const created = readFixture<{ interactions: Interaction[] }>("azure-cli-recordings/test_community_gallery_operations.json").interactions.find((i) => i.method === "PUT" && i.command === "sig create")!;
    expect(judge(created.body)).toMatchObject({ reach: "communityPrepared", verdict: { severity: "medium" } });
    expect(judge(created.body).verdict!.summary).not.toContain("anyone in Azure can use it");
    const [enabled, reset] = galleryAnswers("test_community_gallery_operations");
    expect(judge(enabled!.body)).toMatchObject({ reach: "public", verdict: { severity: "critical", summary: expect.stringContaining("anyone in Azure can use it") } });
    expect(judge(reset!.body)).toEqual({ reach: "nobody", verdict: undefined });
  });

  it("Groups with no groups yet ($select=Permissions answers no groups array) shares with nobody: no finding, never 'shared with 0'", () => {
    const [groupsOnly] = galleryAnswers("test_create_vm_with_shared_gallery_image");
    expect(groupsOnly!.body.properties.sharingProfile).toEqual({ permissions: "Groups" });
    expect(judge(groupsOnly!.body)).toEqual({ reach: "nobody", verdict: undefined });
  });
});
