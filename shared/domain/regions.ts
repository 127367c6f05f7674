/** Public Azure regions' programmatic names (az account list-locations), for validating settings. */
export const AZURE_REGIONS: ReadonlySet<string> = new Set([
  "australiacentral", "australiacentral2", "australiaeast", "australiasoutheast", "austriaeast", "belgiumcentral", "brazilsouth",
  "brazilsoutheast", "canadacentral", "canadaeast", "centralindia", "centralus", "centraluseuap", "chilecentral", "eastasia",
  "eastus", "eastus2", "eastus2euap", "francecentral", "francesouth", "germanynorth", "germanywestcentral", "indonesiacentral",
  "israelcentral", "italynorth", "japaneast", "japanwest", "jioindiacentral", "jioindiawest", "koreacentral", "koreasouth",
  "malaysiawest", "mexicocentral", "newzealandnorth", "northcentralus", "northeurope", "norwayeast", "norwaywest", "polandcentral",
  "qatarcentral", "southafricanorth", "southafricawest", "southcentralus", "southindia", "southeastasia", "spaincentral",
  "swedencentral", "swedensouth", "switzerlandnorth", "switzerlandwest", "uaecentral", "uaenorth", "uksouth", "ukwest",
  "westcentralus", "westeurope", "westindia", "westus", "westus2", "westus3",
]);

/** The known region closest in edit distance, for "did you mean" messages. */
export function nearestRegion(name: string): string {
  let best = "";
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const region of AZURE_REGIONS) {
    const d = editDistance(name, region);
    if (d < bestDistance) [best, bestDistance] = [region, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
