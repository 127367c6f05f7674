/**
 * `npm run bench [-- --events N --resources M --only rules|pipeline]`: prints figures and ratios.
 * Defaults follow the issues: rules over 100,000 versions + 10,000 scale sets; the pipeline with
 * a burst of 10,000 events over 1,000 resources (several minutes: Teams' 4 cards/s paces the end).
 */
import { parseArgs } from "node:util";
import { benchRules } from "./rules.js";
import { benchPipeline } from "./pipeline.js";

const { values } = parseArgs({ options: { events: { type: "string", default: "10000" }, resources: { type: "string", default: "1000" }, only: { type: "string" } } });

const print = (title: string, figures: Record<string, string | number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(48)} ${v}`);
};

if (!values.only || values.only === "rules") print("Rules (pure core)", await benchRules());
if (!values.only || values.only === "pipeline") print(`Pipeline through the local host (node ${process.version})`, await benchPipeline(Number(values.events), Number(values.resources)));
