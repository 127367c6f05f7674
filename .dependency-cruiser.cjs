/**
 * The architecture (ARCHITECTURE.md, "Layers"), stated as rules. Inside shared/ each layer is a
 * folder, and imports point one way only:
 *
 *   wiring → adapters → app → views → domain
 *                 ↘      ↘      ↘       ↑
 *                  platform ───────────┘
 *
 * domain/ is pure; views/ render domain records; app/ holds the use cases and the ports they
 * need; adapters/ implement those ports, one folder per technology; platform/ is plumbing every
 * layer may use (logging, redaction, memo, retry, clock); wiring/ builds it all from the config.
 * functions/ (the Azure Functions shell) reach only app/ and wiring/. No exception list.
 */
const LAYER = (name) => `^shared/${name}/`;

module.exports = {
  forbidden: [
    {
      name: "domain-is-pure",
      comment: "shared/domain imports only itself and node:crypto (hashing is pure): no layer above, no SDK, no I/O",
      severity: "error",
      from: { path: LAYER("domain") },
      to: { pathNot: "^shared/domain/|^(node:)?crypto$" },
    },
    {
      name: "platform-is-plumbing",
      comment: "shared/platform imports only itself and the domain (its errors)",
      severity: "error",
      from: { path: LAYER("platform") },
      to: { path: "^shared/(?!platform/|domain/)" },
    },
    {
      name: "views-are-pure-rendering",
      comment: "shared/views imports only itself, the domain and platform",
      severity: "error",
      from: { path: LAYER("views") },
      to: { path: "^shared/(?!views/|domain/|platform/)" },
    },
    {
      name: "app-imports-domain-views-platform",
      comment: "use cases and their ports import only app/, domain/, views/ and platform/: never an adapter or the wiring",
      severity: "error",
      from: { path: LAYER("app") },
      to: { path: "^shared/(?!app/|domain/|views/|platform/)" },
    },
    {
      name: "adapters-implement-ports-not-use-cases",
      comment: "an adapter reaches app/ only for the ports it implements (app/ports.ts, app/deadLetterPorts.ts), never a use case",
      severity: "error",
      from: { path: LAYER("adapters") },
      to: { path: "^shared/(wiring/|app/(?!ports\\.ts$|deadLetterPorts\\.ts$))" },
    },
    {
      name: "nothing-imports-the-wiring",
      comment: "wiring/ is the top of shared/: only the shell (functions/, cli/, local/) builds the runtime",
      severity: "error",
      from: { path: "^shared/(?!wiring/)" },
      to: { path: "^shared/wiring/" },
    },
    {
      name: "shared-does-not-know-the-shell",
      severity: "error",
      from: { path: "^shared/" },
      to: { path: "^(functions|cli|local|test|bench|scripts)/" },
    },
    {
      name: "shared-is-layered",
      comment: "every file of shared/ lives in one of the layer folders",
      severity: "error",
      from: { path: "^shared/(?!(domain|views|app|adapters|platform|wiring)/)" },
      to: {},
    },
    {
      name: "functions-are-thin",
      comment: "functions/ reach shared/ only through use cases (app/) and composition (wiring/)",
      severity: "error",
      from: { path: "^functions/" },
      to: { path: "^shared/(?!app/|wiring/)" },
    },
    {
      name: "only-the-arm-adapter-imports-arm-compute",
      severity: "error",
      from: { path: "^(?!shared/adapters/arm/)" },
      to: { path: "node_modules/@azure/arm-compute" },
    },
    {
      name: "only-the-arm-adapter-imports-arm-authorization",
      severity: "error",
      from: { path: "^(?!shared/adapters/arm/)" },
      to: { path: "node_modules/@azure/arm-authorization" },
    },
    {
      name: "only-the-table-adapters-import-data-tables",
      severity: "error",
      from: { path: "^(?!shared/adapters/tables/)" },
      to: { path: "node_modules/@azure/data-tables" },
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
