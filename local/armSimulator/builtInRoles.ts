/**
 * The built-in role definitions the simulator serves, with their real permissions (Learn, "Azure
 * built-in roles": https://learn.microsoft.com/azure/role-based-access-control/built-in-roles —
 * Reader, Contributor, Owner). Built-in role ids are the same in every cloud and tenant.
 */
export interface BuiltInRole {
  readonly name: string;
  readonly roleName: string;
  readonly description: string;
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
}

export const READER_ROLE_ID = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
export const CONTRIBUTOR_ROLE_ID = "b24988ac-6180-42a0-ab88-20f7382dd24c";
export const OWNER_ROLE_ID = "8e3af657-a8ff-443d-a8c6-5c3e7b3a5c61";

export const BUILT_IN_ROLES: readonly BuiltInRole[] = [
  { name: READER_ROLE_ID, roleName: "Reader", description: "View all resources, but does not allow you to make any changes.", actions: ["*/read"], notActions: [] },
  {
    name: CONTRIBUTOR_ROLE_ID,
    roleName: "Contributor",
    description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
    actions: ["*"],
    notActions: [
      "Microsoft.Authorization/*/Delete",
      "Microsoft.Authorization/*/Write",
      "Microsoft.Authorization/elevateAccess/Action",
      "Microsoft.Blueprint/blueprintAssignments/write",
      "Microsoft.Blueprint/blueprintAssignments/delete",
      "Microsoft.Compute/galleries/share/action",
      "Microsoft.Purview/consents/write",
      "Microsoft.Purview/consents/delete",
      "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
      "Microsoft.Subscription/cancel/action",
      "Microsoft.Subscription/enable/action",
    ],
  },
  { name: OWNER_ROLE_ID, roleName: "Owner", description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.", actions: ["*"], notActions: [] },
];
