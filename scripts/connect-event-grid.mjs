#!/usr/bin/env node
/**
 * azd `postdeploy` hook (azure.yaml, `npm run infra:connect-event-grid`): connects each watched
 * subscription's system topic to the eventGridResourceEvent function, now that the code exists.
 *
 * Event Grid refuses an Azure Function destination until the function exists, and `azd up`
 * provisions before it deploys the code, so the event subscription cannot be part of main.bicep's
 * first deployment. Microsoft's azd Event Grid samples create it in a postdeploy hook for the same
 * reason (Azure-Samples/functions-quickstart-javascript-azd-eventgrid-blob, scripts/post-up.sh).
 * Here the hook deploys infra/watch/eventSubscription.json, the compiled eventSubscription.bicep
 * (`npm run infra:check` keeps them equal), so the filter and retry policy stay declared once.
 *
 * Reads the outputs azd stored after provisioning (azd passes the environment's values to hooks as
 * environment variables): GW_SYSTEM_TOPICS, AZURE_FUNCTION_APP_ID, AZURE_STORAGE_ACCOUNT_ID,
 * GW_DEADLETTER_CONTAINER_NAME. Uses the Azure CLI's login (`az login`). Idempotent: a deployment
 * PUTs the same event subscription again.
 *
 * `--dry-run` prints the az commands as JSON instead of running them (test/unit/infraWiring.test.ts).
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const template = join(dirname(fileURLToPath(import.meta.url)), "..", "infra", "watch", "eventSubscription.json");
/** Right after a deploy the host may still be indexing the function; Event Grid then answers 400. */
const ATTEMPTS = 6;
const PAUSE_SECONDS = 20;
const TIMEOUT_MS = 10 * 60 * 1000;

function required(name) {
  const value = process.env[name]?.trim();
  if (!value) {
    console.error(`connect-event-grid: ${name} is not set. Run it through azd (\`azd up\`, or \`azd hooks run postdeploy\`) after \`azd provision\` has stored the outputs of infra/main.bicep.`);
    process.exit(1);
  }
  return value;
}

function commands() {
  let topics;
  try {
    topics = JSON.parse(required("GW_SYSTEM_TOPICS"));
  } catch (error) {
    console.error(`connect-event-grid: GW_SYSTEM_TOPICS is not the JSON array main.bicep outputs (${error.message})`);
    process.exit(1);
  }
  const functionAppId = required("AZURE_FUNCTION_APP_ID");
  const storageAccountId = required("AZURE_STORAGE_ACCOUNT_ID");
  const deadLetterContainer = required("GW_DEADLETTER_CONTAINER_NAME");
  return topics.map((topic) => ({
    subscriptionId: topic.subscriptionId,
    args: [
      "deployment", "group", "create",
      "--subscription", topic.subscriptionId,
      "--resource-group", topic.resourceGroup,
      "--name", "gallery-watch-event-subscription",
      "--template-file", template,
      "--parameters", `topicName=${topic.topic}`, `functionAppId=${functionAppId}`, `storageAccountId=${storageAccountId}`, `deadLetterContainer=${deadLetterContainer}`,
      "--only-show-errors", "--output", "none",
    ],
  }));
}

function main() {
  const planned = commands();
  if (process.argv.includes("--dry-run")) {
    console.log(JSON.stringify(planned));
    return;
  }
  for (const { subscriptionId, args } of planned) {
    for (let attempt = 1; ; attempt++) {
      console.log(`connect-event-grid: subscription ${subscriptionId}: deploying the Event Grid subscription (attempt ${attempt}/${ATTEMPTS})`);
      const result = spawnSync("az", args, { stdio: ["ignore", "inherit", "inherit"], timeout: TIMEOUT_MS, shell: process.platform === "win32" });
      if (result.error?.code === "ENOENT") {
        console.error("connect-event-grid: the Azure CLI (`az`) is missing; install it and `az login`, then run `azd hooks run postdeploy`.");
        process.exit(1);
      }
      if (result.status === 0) break;
      if (attempt === ATTEMPTS) {
        console.error(`connect-event-grid: subscription ${subscriptionId}: still failing after ${ATTEMPTS} attempts; run \`azd hooks run postdeploy\` to try again.`);
        process.exit(1);
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, PAUSE_SECONDS * 1000);
    }
  }
  console.log(`connect-event-grid: ${planned.length} subscription(s) connected to the eventGridResourceEvent function`);
}

main();
