import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/conformance/**/*.test.ts"],
    testTimeout: 60_000,
    // The conformance summary first, so the plain pass/fail count CI reads stays the last line.
    reporters: ["default", "./test/conformance/summaryReporter.ts", "./test/support/countReporter.ts"],
  },
});
