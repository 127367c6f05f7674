/**
 * Azure region names as the Gallery RP writes them back. A client may send `eastus2` or `East US 2`;
 * an image version's `targetRegions[].name` comes back as the display name ("East US 2", "West US 2",
 * "Central US EUAP": Microsoft's azure-cli recordings, ../shared/fixtures/azure-cli-recordings/,
 * and GalleryImageVersion_Create.json). The table is `az account list-locations` (name → displayName)
 * for the public cloud; an unknown name is kept as sent.
 */
const DISPLAY_NAMES: Readonly<Record<string, string>> = {
  eastus: "East US", eastus2: "East US 2", southcentralus: "South Central US", westus2: "West US 2", westus3: "West US 3",
  australiaeast: "Australia East", southeastasia: "Southeast Asia", northeurope: "North Europe", swedencentral: "Sweden Central",
  uksouth: "UK South", westeurope: "West Europe", centralus: "Central US", southafricanorth: "South Africa North",
  centralindia: "Central India", eastasia: "East Asia", japaneast: "Japan East", koreacentral: "Korea Central",
  canadacentral: "Canada Central", francecentral: "France Central", germanywestcentral: "Germany West Central",
  italynorth: "Italy North", norwayeast: "Norway East", polandcentral: "Poland Central", spaincentral: "Spain Central",
  switzerlandnorth: "Switzerland North", mexicocentral: "Mexico Central", uaenorth: "UAE North", brazilsouth: "Brazil South",
  israelcentral: "Israel Central", qatarcentral: "Qatar Central", northcentralus: "North Central US", westus: "West US",
  westcentralus: "West Central US", southafricawest: "South Africa West", australiacentral: "Australia Central",
  australiacentral2: "Australia Central 2", australiasoutheast: "Australia Southeast", japanwest: "Japan West",
  jioindiawest: "Jio India West", koreasouth: "Korea South", southindia: "South India", westindia: "West India",
  canadaeast: "Canada East", francesouth: "France South", germanynorth: "Germany North", norwaywest: "Norway West",
  switzerlandwest: "Switzerland West", ukwest: "UK West", uaecentral: "UAE Central", brazilsoutheast: "Brazil Southeast",
  newzealandnorth: "New Zealand North", centraluseuap: "Central US EUAP", eastus2euap: "East US 2 EUAP",
};

/** `East US 2`, `eastus2`, `EastUS2` → `eastus2`. */
export function regionKey(name: string): string {
  return name.toLowerCase().replace(/\s+/g, "");
}

/** The display name Azure answers with, or the name as sent when the region is unknown. */
export function displayName(name: string): string {
  return DISPLAY_NAMES[regionKey(name)] ?? name;
}
