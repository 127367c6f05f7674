/** The dependency direction (STYLE.md): functions → shared; domain is pure; adapters stay behind their ports. */
module.exports = {
  forbidden: [
    {
      name: "domain-is-pure",
      comment: "shared/domain imports only itself, the error family and node:crypto (hashing is pure)",
      severity: "error",
      from: { path: "^shared/domain/" },
      to: { pathNot: "^shared/domain/|^(node:)?crypto$" },
    },
    {
      name: "shared-does-not-know-the-shell",
      severity: "error",
      from: { path: "^shared/" },
      to: { path: "^(functions|local|test|bench)/" },
    },
    {
      name: "only-the-arm-adapter-imports-arm-compute",
      severity: "error",
      from: { path: "^(?!shared/adapters/arm/computeArmInventory\\.ts$)" },
      to: { path: "node_modules/@azure/arm-compute" },
    },
    {
      name: "only-storage-and-the-outbox-import-data-tables",
      severity: "error",
      from: { path: "^(?!shared/adapters/tables/)" },
      to: { path: "node_modules/@azure/data-tables" },
    },
    {
      name: "functions-are-thin",
      comment: "functions/ reach shared/ only through use cases and composition, never adapters directly",
      severity: "error",
      from: { path: "^functions/" },
      to: { path: "^shared/adapters/(?!queues/queues\\.ts$)" },
    },
    { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"], extensions: [".ts", ".js"] },
  },
};
