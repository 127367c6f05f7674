import { defineConfig } from "vitest/config";

/**
 * `npm run test:az`: Microsoft's Azure CLI (`az`, Debian's azure-cli) driving `npm start`'s stack.
 * Its own configuration so `npm test` never needs `az`. The file's tests run in order against one
 * stack (each builds on the resources the previous one made).
 */
export default defineConfig({
  test: {
    include: ["test/az/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    reporters: ["default", "./test/support/countReporter.ts"],
  },
});
