import { describe, expect, it } from "vitest";
import { parseResourceId, tryParseResourceId, parentOf, galleryOf } from "../../shared/domain/resourceId.js";
import { InvalidResourceIdError } from "../../shared/domain/errors.js";

const SUB = "00000000-1111-2222-3333-444444444444";
const base = `/subscriptions/${SUB}/resourceGroups/rg-Images/providers/Microsoft.Compute`;

describe("parseResourceId", () => {
  it.each([
    [`${base}/galleries/gal1`, "gallery", `${base}/galleries/gal1`],
    [`${base}/galleries/gal1/images/def-1`, "imageDefinition", `${base}/galleries/gal1/images/def-1`],
    [`${base}/galleries/gal1/images/def-1/versions/1.0.0`, "imageVersion", `${base}/galleries/gal1/images/def-1/versions/1.0.0`],
    [`${base}/virtualMachineScaleSets/vmss-proxy`, "scaleSet", `${base}/virtualMachineScaleSets/vmss-proxy`],
    // Messy forms seen in Microsoft's own examples:
    [`${base}/Galleries/gal1/Images/def-1/Versions/1.0.0`, "imageVersion", `${base}/galleries/gal1/images/def-1/versions/1.0.0`],
    [`${base}/locations/westus/Galleries/gal1/Images/def-1`, "imageDefinition", `${base}/galleries/gal1/images/def-1`],
    [`/subscriptions/${SUB}/resourceGroups/rg-Images//providers/Microsoft.Compute/galleries/gal1`, "gallery", `${base}/galleries/gal1`],
    [`${base}/galleries/gal1/`, "gallery", `${base}/galleries/gal1`],
    [`/SUBSCRIPTIONS/${SUB.toUpperCase()}/RESOURCEGROUPS/rg-Images/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/vmss-proxy`, "scaleSet", `${base}/virtualMachineScaleSets/vmss-proxy`],
    [`${base}/virtualMachines/gw-drill-q4`, "virtualMachine", `${base}/virtualMachines/gw-drill-q4`],
    [`${base}/VirtualMachines/GW-Drill_01.a`, "virtualMachine", `${base}/virtualMachines/GW-Drill_01.a`],
  ])("normalises %s", (raw, kind, display) => {
    const id = parseResourceId(raw);
    expect(id.kind).toBe(kind);
    expect(id.display).toBe(display);
    expect(id.key).toBe(display.toLowerCase());
  });

  it("accepts resource groups with Unicode letters, as Azure does (rg-zürich, rg-東京), with one key whatever the case", () => {
    // https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftresources
    const zurich = parseResourceId(`/subscriptions/${SUB}/resourceGroups/rg-Zürich/providers/Microsoft.Compute/galleries/g`);
    expect(zurich.resourceGroup).toBe("rg-Zürich");
    expect(parseResourceId(`/subscriptions/${SUB}/resourceGroups/RG-ZÜRICH/providers/Microsoft.Compute/galleries/g`).key).toBe(zurich.key);
    expect(parseResourceId(`/subscriptions/${SUB}/resourceGroups/rg-東京(prod)/providers/Microsoft.Compute/virtualMachineScaleSets/v`).kind).toBe("scaleSet");
    expect(tryParseResourceId(`/subscriptions/${SUB}/resourceGroups/rg-ends-with-dot./providers/Microsoft.Compute/galleries/g`).ok).toBe(false);
    expect(tryParseResourceId(`/subscriptions/${SUB}/resourceGroups/rg with space/providers/Microsoft.Compute/galleries/g`).ok).toBe(false);
  });

  it("gives the same key to ids differing only in case, keeping the original names for display", () => {
    const a = parseResourceId(`${base}/galleries/Gal1/images/Def-1`);
    const b = parseResourceId(`${base.toLowerCase()}/GALLERIES/gal1/IMAGES/def-1`);
    expect(a.key).toBe(b.key);
    expect(a.gallery).toBe("Gal1");
    expect(b.gallery).toBe("gal1");
  });

  it.each([
    ["/providers/Microsoft.Compute/galleries/myGallery/Images/myGalleryImageName", "no /subscriptions"],
    [`/subscriptions/{subscription-id}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g`, "not a GUID"],
    [`${base}/galleries/../galleries/g`, "'..'"],
    [`${base}/galleries/g%2Fimages%2Fx`, "percent-encoded"],
    [`${base}/galleries/g\u0000`, "control characters"],
    [`${base}/galleries/g\nimages`, "control characters"],
    [`${base}/galleries/${"a".repeat(10_000)}`, "characters long"],
    [`${base}/galleries/g/images/d/versions/latest`, "Major.Minor.Patch"],
    [`${base}/galleries/g/images/d/versions/1.0.0/extra`, "after the version"],
    [`${base}/disks/d1`, "not one gallery-watch watches"],
    [`${base}/virtualMachines/vm1/extensions/AzureMonitorLinuxAgent`, "must end at /virtualMachines/{name}"],
    [`${base}/virtualMachines/-vm`, "virtual machine name '-vm' is not valid"],
    [`${base}/virtualMachineScaleSets/vmss/virtualMachines/3`, "must end at /virtualMachineScaleSets/{name}"],
    [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v`, "not a Microsoft.Compute"],
    ["relative/path", "does not start with '/'"],
    ["", "empty"],
    [`${base}/galleries/g?api-version=1`, "query string"],
    [`${base}\\galleries\\g`, "backslash"],
    [`${base}/galleries/bad name`, "not valid"],
  ])("refuses %s", (raw, why) => {
    const result = tryParseResourceId(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(InvalidResourceIdError);
      expect(result.error.message).toContain(why);
      expect(result.error.message.length).toBeLessThan(400);
    }
  });

  it("refuses non-strings", () => {
    expect(() => parseResourceId(42)).toThrow(/expected a string, got number/);
    expect(() => parseResourceId(null)).toThrow(/got null/);
  });

  it("finds parents and galleries", () => {
    const v = parseResourceId(`${base}/galleries/gal1/images/def-1/versions/1.2.3`);
    expect(parentOf(v)?.display).toBe(`${base}/galleries/gal1/images/def-1`);
    expect(parentOf(parentOf(v)!)?.display).toBe(`${base}/galleries/gal1`);
    expect(galleryOf(v)?.display).toBe(`${base}/galleries/gal1`);
    expect(parentOf(parseResourceId(`${base}/virtualMachineScaleSets/x`))).toBeUndefined();
  });
});
