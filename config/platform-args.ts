// Maps the validated config onto the Platform component's typed args. Pure, so tests
// (and the cloud-init tests, which render each stack's user-data) build exactly what
// index.ts builds.
import type { ToolkitFile } from "../cloud-init/toolkit-files";
import type { PlatformArgs } from "../components/platform";
import type { FortressConfig } from "./schema";

export function toPlatformArgs(config: FortressConfig, toolkitFiles: ToolkitFile[]): PlatformArgs {
    return {
        environment: config.stack,
        role: config.role,
        region: config.region,
        protect: config.protect,
        credentialsEpoch: config.credentialsEpoch,
        projectLabel: config.projectEnvironment,
        network: { ...config.network },
        host: { size: config.host.size, image: config.host.image, backups: config.host.backups, sshKeys: config.host.sshKeys },
        database: { ...config.database, ...(config.pitr ? { pitr: { ...config.pitr } } : {}) },
        storage: {
            backupBucket: config.storage.backupBucket,
            vaultBucket: config.storage.vaultBucket,
            vaultRegion: config.storage.vaultRegion,
            retentionDays: config.storage.retentionDays,
            noncurrentVersionDays: config.storage.noncurrentVersionDays,
            backupPrefix: config.storage.backupPrefix,
            restorePrefix: config.storage.restorePrefix,
        },
        dns: {
            domain: config.dns.domain,
            hostname: config.dns.hostname,
            ttl: config.dns.ttl,
            activeSite: config.cutover.activeSite,
            drStack: config.cutover.drStack,
        },
        bootstrap: {
            deployerPublicKeys: config.host.deployerPublicKeys,
            app: { ...config.app },
            backupSchedule: config.backup.schedule,
            verifySchedule: config.backup.verifySchedule,
            ageRecipients: config.backup.ageRecipients,
            toolkitFiles,
        },
        recovery: {
            restoreMode: config.recovery.restoreMode,
            restoreBackup: config.recovery.restoreBackup,
            migrateCommand: config.recovery.migrateCommand,
            health: { ...config.recovery.health },
            bootTimeoutMinutes: config.recovery.bootTimeoutMinutes,
            ageIdentity: config.recovery.ageIdentity,
            appEnv: { ...config.recovery.appEnv },
            tls: { ...config.recovery.tls },
            backupHeartbeatUrl: config.backup.heartbeatUrl,
        },
        ...(config.monitoring.enabled
            ? {
                  monitoring: {
                      healthPath: config.monitoring.healthPath,
                      emails: [...config.monitoring.emails],
                      ...(config.monitoring.slack ? { slack: { ...config.monitoring.slack } } : {}),
                      thresholds: { ...config.monitoring.thresholds },
                      window: config.monitoring.window,
                  },
              }
            : {}),
    };
}
