import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["tests/**/*.test.ts"],
        // Real-service tests start PostgreSQL clusters and S3 servers; give them room.
        testTimeout: 120_000,
        hookTimeout: 180_000,
        pool: "forks",
        reporters: ["default", "./tests/support/summary-reporter.ts"],
    },
});
