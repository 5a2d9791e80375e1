// The recovery chain: the runbook's "Complete Infrastructure Recovery" phases 2-4 as
// remote commands, run over SSH on the droplet after every (re)build:
//
//   boot ─┬─ secret: app .env ──────────────────────────┬─ migrate ─┬─ compose ─ health
//         ├─ secret: credentials.env ─┐                  │           │
//         ├─ secret: age identity ────┼─ restore ────────┘           │
//         ├─ database access ─────────┘                              │
//         └─ [secret: certbot's DNS token, dns-01] ─ tls ────────────┘
//                                  (tls also waits for the DNS record)
//
// Each step is a command:remote:Command that logs in as `deployer` (root login is off)
// at the reserved IP with the stack's generated deploy key. The texts come from the pure
// builders in scripts.ts (each step's shell is a file in steps/) and never hold a secret;
// secrets go on stdin.
//
// Re-running: a step runs when it is created and again whenever an input changes. Every
// step's triggers hold the droplet id, so a new droplet re-runs the whole chain; later
// steps also trigger on the ids of the steps whose output they consume (a new .env
// restarts the services). Nothing else changes between runs, so a second `pulumi up`
// runs nothing. No step has a `delete` command: the connection goes to the reserved IP,
// which by then belongs to the replacement droplet, so an old step's delete would act
// on the new host. deleteBeforeReplace is still set, so that if a delete is ever added
// it runs before its replacement's create, never after it.
//
// Two things the operator must know. The machine running `pulumi up` connects to port 22,
// so its address must be inside adminCidrs (the cloud firewall drops everyone else, also
// while isolated). And the droplet's SSH host key is not pinned (`connection.hostKey`):
// a new droplet makes its host key on first boot and nothing outside the droplet can
// learn it beforehand without putting a private key in user-data, which must hold no
// secret. The connection goes to the stack's own reserved IP, inside DigitalOcean.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import {
    AGE_IDENTITY_FILE,
    CREDENTIALS_FILE,
    DEPLOYER_USER,
    DNS_CREDENTIALS_FILE,
    READY_MARKER,
} from "../../cloud-init/host";
import {
    ageIdentityFile,
    appEnvFile,
    composeDir,
    composeUpScript,
    credentialsFile,
    databaseAccessScript,
    databaseAccessStdin,
    dnsCredentialsFile,
    healthGateScript,
    imagesScript,
    migrateScript,
    restoreScript,
    tlsScript,
    waitForBootScript,
    writeSecretFileScript,
    type BackupChoice,
    type RestoreMode,
    type RestoreSource,
    type TlsChallenge,
    type TlsSkip,
} from "./scripts";

export interface RecoveryArgs {
    /** How to reach the droplet. */
    connection: {
        /** Address to SSH to: the reserved IP, which follows the droplet across rebuilds. */
        host: pulumi.Input<string>;
        /** OpenSSH private key of the deploy keypair (secret); its public key is in the deployer's authorized keys via user-data. */
        privateKey: pulumi.Input<string>;
        /** Login user. Default `deployer` (user-data disables root login). */
        user?: string;
        /** SSH port. Default 22. */
        port?: number;
    };
    /** The droplet id: in every step's triggers, so a new droplet re-runs the chain. */
    dropletId: pulumi.Input<string>;
    /**
     * Resources the first step waits for besides the droplet, e.g. the reserved IP's
     * assignment, without which the address would not lead to this droplet yet. Default none.
     */
    bootDependsOn?: pulumi.Input<pulumi.Resource>[];
    /** Minutes the boot step may take (SSH refused, then cloud-init), 5 to 240 (config bootTimeoutMinutes). */
    bootTimeoutMinutes: number;
    /** The checkout on the host, the compose project inside it, and the app's generated secrets. */
    app: {
        /** Absolute checkout directory that user-data clones into (config appDir). */
        dir: string;
        /** Compose project folder inside the checkout, `.` for the top (config appComposeSubdir). */
        composeSubdir: string;
        /** The pinned git ref of the checkout (config appRef); names the backup the migrate step takes first. */
        ref: string;
        /** Django SECRET_KEY (secret). */
        secretKey: pulumi.Input<string>;
        /** Cache (Valkey) URL (secret). */
        cacheUrl: pulumi.Input<string>;
    };
    /** The app's migration command, one printable line run in the compose project (config migrateCommand). */
    migrateCommand: string;
    /** Extra .env entries, such as third-party API keys (config appEnv; secret values). Empty: none. */
    appEnv: pulumi.Input<Record<string, string>>;
    /** Credentials shared by the app and the host toolkit (all secret). */
    credentials: {
        /** The app's PostgreSQL connection string over the VPC. */
        databaseUrl: pulumi.Input<string>;
        /** Access key id of the host's Spaces key. */
        spacesAccessKeyId: pulumi.Input<string>;
        /** Secret key of the host's Spaces key. */
        spacesSecretAccessKey: pulumi.Input<string>;
        /** Dead-man's-switch ping URL for fortress-heartbeat (secret; config backupHeartbeatUrl). Undefined: no BACKUP_HEARTBEAT_URL line. */
        backupHeartbeatUrl?: pulumi.Input<string>;
    };
    /** age identity that decrypts backups (secret; config ageIdentity). Undefined: no identity file is written. */
    ageIdentity?: pulumi.Input<string>;
    /** The app database, its role, and the admin connection that sets the role's password. */
    database: {
        /** Id of the cluster the app uses; a new cluster re-runs the database and restore steps. */
        clusterId: pulumi.Input<string>;
        /**
         * What must exist before the chain touches the database: the app database and
         * role, and the database firewall that lets this droplet's tag in.
         */
        ready: pulumi.Input<pulumi.Resource>[];
        /** App database name (config dbName). */
        name: string;
        /** App role name (config dbUser). */
        user: string;
        /** The role's password (secret), applied with ALTER ROLE. */
        password: pulumi.Input<string>;
        /** The cluster's admin connection (from the cluster's outputs); only the password is secret. */
        admin: {
            /** VPC-private host name; the droplet reaches it, the runner does not. */
            privateHost: pulumi.Input<string>;
            /** Port (25060 on DigitalOcean). */
            port: pulumi.Input<number>;
            /** Admin user (`doadmin`). */
            user: pulumi.Input<string>;
            /** Admin password (secret); travels on stdin. */
            password: pulumi.Input<string>;
            /** The cluster's default database (`defaultdb`). */
            database: pulumi.Input<string>;
        };
    };
    /** When the restore step restores: if-empty, required or off (config restoreMode, with auto resolved by role). */
    restoreMode: RestoreMode;
    /** Which backup: `{ id: "latest" }`, a backup id, or `{ before: ISO time }` (config restoreBackup). */
    restoreBackup: BackupChoice;
    /** Read from this bucket instead of the host's backup.env buckets (a dr stack: the vault). Undefined: the host's buckets. */
    restoreSource?: RestoreSource;
    /** Minutes the restore may take. Default 240 (the plan's 4 h RTO). */
    restoreTimeoutMinutes?: number;
    /**
     * A Let's Encrypt certificate for the stack's record (certbot on the host), obtained
     * before compose starts the proxy. Undefined: none.
     */
    tls?: {
        /** The record's full name; it also names the certificate's lineage. */
        fqdn: string;
        /** The address the name must resolve to (the reserved IP); http-01 waits for it. */
        address: pulumi.Input<string>;
        /** ACME account e-mail (config tlsEmail). */
        email: string;
        /** Compose service that serves the certificate; with http-01 it holds port 80 and is stopped during renewals (config tlsProxyService). */
        proxyService: string;
        /** http-01 or dns-01 (needs `dnsToken`) (config tlsChallenge). */
        challenge: TlsChallenge;
        /** dns-01: more full names on the certificate (a dr stack: the primary's public name). Default none. */
        extraNames?: string[];
        /** dns-01: DigitalOcean API token for certbot's dns-digitalocean plugin (secret; config tlsDnsToken); travels on stdin. */
        dnsToken?: pulumi.Input<string>;
        /** http-01: why no certificate is requested this time (isolated, or the name points at the DR site). Undefined: one is. */
        skip?: TlsSkip;
        /** What must exist first: the DNS record. */
        dependsOn: pulumi.Input<pulumi.Resource>[];
    };
    /**
     * A warm standby: an `images` step pulls and builds the app's images after the secrets.
     * `serving` false stops the chain there (and at the certificate): no database step, no
     * restore, migrations or services, the replica is read-only. `serving` true (the
     * failover) runs the whole chain, with the images already in place. Undefined: the
     * cold chain, unchanged.
     */
    warm?: {
        /** Whether the site serves: config failover. */
        serving: boolean;
    };
    /** The health gate. */
    health: {
        /** URL polled on the host until it answers 200 (config healthUrl). */
        url: string;
        /** Seconds before giving up, 10 to 3600 (config healthTimeoutSeconds). */
        timeoutSeconds: number;
        /** Seconds between polls. Default 5. */
        intervalSeconds?: number;
    };
}

/** The steps that serve the app: all but a warm standby's, which stands by after its images. */
export interface ServingSteps {
    databaseAccess: command.remote.Command;
    restore: command.remote.Command;
    migrate: command.remote.Command;
    compose: command.remote.Command;
    health: command.remote.Command;
}

/** The steps, in the order they run; the serving steps are absent while a warm standby stands by. */
export interface RecoverySteps extends Partial<ServingSteps> {
    boot: command.remote.Command;
    appEnv: command.remote.Command;
    credentials: command.remote.Command;
    ageIdentity?: command.remote.Command;
    /** A warm standby's images step. */
    images?: command.remote.Command;
    dnsToken?: command.remote.Command;
    tls?: command.remote.Command;
}

export class Recovery extends pulumi.ComponentResource {
    readonly steps: RecoverySteps;
    /** The health gate's stdout: set once the platform answered 200. */
    readonly healthReport: pulumi.Output<string>;

    constructor(name: string, args: RecoveryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("income-fortress:recovery:Recovery", name, {}, opts);
        const user = args.connection.user ?? DEPLOYER_USER;
        const bootMinutes = args.bootTimeoutMinutes;
        const dir = composeDir(args.app);
        const health = {
            url: args.health.url,
            timeoutSeconds: args.health.timeoutSeconds,
            intervalSeconds: args.health.intervalSeconds ?? 5,
        };
        const connection = (extra: { dialErrorLimit?: number; perDialTimeout?: number } = {}) => ({
            host: args.connection.host,
            port: args.connection.port ?? 22,
            user,
            privateKey: pulumi.secret(args.connection.privateKey),
            ...extra,
        });
        // Every step: re-run on a new droplet, no previous output over SSH setenv (stock
        // sshd rejects it and pulumi-command warns; pulumi/pulumi-command#584).
        const step = (
            role: string,
            props: { create: pulumi.Input<string>; stdin?: pulumi.Input<string>; triggers: pulumi.Input<unknown>[] },
            o: { dependsOn: pulumi.Input<pulumi.Resource>[]; timeout?: string; first?: boolean },
        ) =>
            new command.remote.Command(
                `${name}-${role}`,
                {
                    connection: o.first ? connection({ dialErrorLimit: -1, perDialTimeout: 30 }) : connection(),
                    create: props.create,
                    ...(props.stdin !== undefined ? { stdin: pulumi.secret(props.stdin) } : {}),
                    triggers: [args.dropletId, ...props.triggers],
                    addPreviousOutputInEnv: false,
                },
                {
                    parent: this,
                    dependsOn: o.dependsOn,
                    deleteBeforeReplace: true,
                    // The key is in `connection`; a step that reads secrets may echo a tool's
                    // error about them, so its outputs are secret too.
                    additionalSecretOutputs:
                        props.stdin !== undefined ? ["connection", "stdin", "stdout", "stderr"] : ["connection"],
                    ...(o.timeout ? { customTimeouts: { create: o.timeout, update: o.timeout } } : {}),
                },
            );

        // 1. A fresh droplet refuses SSH for a while (and rejects the deployer's key until
        //    cloud-init made the user): unlimited dials, bounded by the create timeout.
        const boot = step(
            "boot",
            { create: waitForBootScript({ marker: READY_MARKER }), triggers: [] },
            { dependsOn: args.bootDependsOn ?? [], timeout: `${bootMinutes}m`, first: true },
        );

        // 2. Secrets, each file from stdin with mode 600.
        const extraEnv = pulumi.output(args.appEnv);
        const appEnv = step(
            "secret-app-env",
            {
                create: writeSecretFileScript({
                    path: `${dir}/.env`,
                    owner: `${DEPLOYER_USER}:${DEPLOYER_USER}`,
                    what: "the app's .env",
                }),
                stdin: pulumi
                    .all([
                        args.credentials.databaseUrl,
                        args.app.cacheUrl,
                        args.app.secretKey,
                        args.credentials.spacesAccessKeyId,
                        args.credentials.spacesSecretAccessKey,
                        extraEnv,
                    ])
                    .apply(([databaseUrl, cacheUrl, secretKey, spacesAccessKeyId, spacesSecretAccessKey, extra]) =>
                        appEnvFile({
                            databaseUrl,
                            cacheUrl,
                            secretKey,
                            spacesAccessKeyId,
                            spacesSecretAccessKey,
                            extra,
                        }),
                    ),
                triggers: [],
            },
            { dependsOn: [boot] },
        );
        const credentials = step(
            "secret-credentials",
            {
                create: writeSecretFileScript({
                    path: CREDENTIALS_FILE,
                    owner: "root:root",
                    what: "the toolkit's credentials.env",
                }),
                stdin: pulumi
                    .all([
                        args.credentials.databaseUrl,
                        args.credentials.spacesAccessKeyId,
                        args.credentials.spacesSecretAccessKey,
                        args.credentials.backupHeartbeatUrl ?? "",
                    ])
                    .apply(([databaseUrl, spacesAccessKeyId, spacesSecretAccessKey, backupHeartbeatUrl]) =>
                        credentialsFile({ databaseUrl, spacesAccessKeyId, spacesSecretAccessKey, backupHeartbeatUrl }),
                    ),
                triggers: [],
            },
            { dependsOn: [boot] },
        );
        const ageIdentity =
            args.ageIdentity === undefined
                ? undefined
                : step(
                      "secret-age-identity",
                      {
                          create: writeSecretFileScript({
                              path: AGE_IDENTITY_FILE,
                              owner: "root:root",
                              what: "the age identity",
                          }),
                          stdin: pulumi.output(args.ageIdentity).apply(ageIdentityFile),
                          triggers: [],
                      },
                      { dependsOn: [boot] },
                  );

        // A warm standby pulls and builds the images while it waits, so the failover starts from the cache.
        const images = args.warm
            ? step("images", { create: imagesScript({ dir }), triggers: [] }, { dependsOn: [appEnv], timeout: "60m" })
            : undefined;
        const serving = args.warm?.serving ?? true;

        // The certificate before the services: the proxy needs it, and certbot's standalone
        // server (http-01) needs port 80 while the proxy does not hold it yet.
        const tlsArgs = args.tls;
        const challenge = tlsArgs?.challenge;
        if (tlsArgs && challenge === "dns-01" && tlsArgs.dnsToken === undefined)
            throw new Error(`Recovery ${name}: tls.challenge dns-01 needs tls.dnsToken`);
        const dnsToken =
            tlsArgs && challenge === "dns-01"
                ? step(
                      "secret-dns-token",
                      {
                          create: writeSecretFileScript({
                              path: DNS_CREDENTIALS_FILE,
                              owner: "root:root",
                              what: "certbot's DigitalOcean token",
                          }),
                          stdin: pulumi.output(tlsArgs.dnsToken!).apply(dnsCredentialsFile),
                          triggers: [],
                      },
                      { dependsOn: [boot] },
                  )
                : undefined;
        const tls = tlsArgs
            ? step(
                  "tls",
                  {
                      create: pulumi.output(tlsArgs.address).apply((address) =>
                          tlsScript({
                              fqdn: tlsArgs.fqdn,
                              address,
                              email: tlsArgs.email,
                              dir,
                              proxyService: tlsArgs.proxyService,
                              challenge: tlsArgs.challenge,
                              ...(tlsArgs.extraNames ? { alsoFor: tlsArgs.extraNames } : {}),
                              skip: tlsArgs.skip,
                          }),
                      ),
                      // A new token re-runs the step, so a revoked one is noticed now, not at the next renewal.
                      triggers: dnsToken ? [dnsToken.id] : [],
                  },
                  { dependsOn: [boot, ...(dnsToken ? [dnsToken] : []), ...tlsArgs.dependsOn], timeout: "30m" },
              )
            : undefined;
        const servingSteps = (): ServingSteps => {
            // 3. The app role's password and rights, through the admin connection of the active cluster.
            const db = args.database;
            const databaseAccess = step(
                "database-access",
                {
                    create: pulumi
                        .all([db.admin.privateHost, db.admin.port, db.admin.user, db.admin.database])
                        .apply(([host, port, adminUser, database]) =>
                            databaseAccessScript({ host, port, user: adminUser, database }),
                        ),
                    stdin: pulumi
                        .all([db.admin.password, db.password])
                        .apply(([adminPassword, password]) =>
                            databaseAccessStdin(adminPassword, { role: db.user, database: db.name, password }),
                        ),
                    triggers: [db.clusterId],
                },
                { dependsOn: [boot, ...db.ready] },
            );

            // 4. Restore: after the credentials, the identity and the role's password.
            const restore = step(
                "restore",
                {
                    create: restoreScript({
                        mode: args.restoreMode,
                        backup: args.restoreBackup,
                        ...(args.restoreSource ? { source: args.restoreSource } : {}),
                    }),
                    triggers: [db.clusterId],
                },
                {
                    dependsOn: [credentials, databaseAccess, ...(ageIdentity ? [ageIdentity] : [])],
                    timeout: `${args.restoreTimeoutMinutes ?? 240}m`,
                },
            );

            // 5. Migrations, then the services, with the .env in place.
            const migrate = step(
                "migrate",
                {
                    create: migrateScript({ dir, command: args.migrateCommand, appRef: args.app.ref }),
                    triggers: [restore.id, appEnv.id],
                },
                { dependsOn: [restore, appEnv, ...(images ? [images] : [])], timeout: "60m" },
            );
            const compose = step(
                "compose",
                { create: composeUpScript({ dir }), triggers: [migrate.id, appEnv.id] },
                { dependsOn: [restore, migrate, appEnv, ...(tls ? [tls] : [])], timeout: "60m" },
            );

            // 6. The health gate: `pulumi up` succeeds only when the platform answers.
            const healthGate = step(
                "health",
                { create: healthGateScript({ ...health, dir }), triggers: [compose.id] },
                { dependsOn: [compose], timeout: `${Math.ceil(health.timeoutSeconds / 60) + 5}m` },
            );
            return { databaseAccess, restore, migrate, compose, health: healthGate };
        };
        const served = serving ? servingSteps() : undefined;

        this.steps = {
            boot,
            appEnv,
            credentials,
            ...(ageIdentity ? { ageIdentity } : {}),
            ...(images ? { images } : {}),
            ...(dnsToken ? { dnsToken } : {}),
            ...(tls ? { tls } : {}),
            ...(served ?? {}),
        };
        // A warm standby that does not serve has no health gate to report.
        this.healthReport = served
            ? served.health.stdout
            : pulumi.output("standing by: the services start at failover");
        this.registerOutputs({ healthReport: this.healthReport });
    }
}
