// Entry point of the policy pack: `pulumi preview --policy-pack policy` runs this file.
// It only constructs the PolicyPack, because constructing one starts the gRPC server the
// Pulumi CLI talks to; the policies and their checks live in ./policies.ts, which the
// tests import.
//
// How it resolves: this folder's package.json declares every package the pack loads and
// its tsconfig.json stands alone, so `pulumi policy publish` ships a pack that installs
// and runs by itself. In this repository the folder has no node_modules: Node's module
// lookup walks up to the project's, where `npm ci` at the root installs the same versions.
//
// The prod region comes from ../Pulumi.prod.yaml when the pack runs from this repository
// (`--policy-pack policy`). A published pack has no project beside it and falls back to
// DEFAULTS.prodRegion; set `prodRegion` in the policy config to change it there.
import { PolicyPack } from "@pulumi/policy";
import * as path from "node:path";
import { createPolicies, prodRegionFromProject } from "./policies";

new PolicyPack("income-fortress", {
    description:
        "Guardrails for the Income Fortress recovery stack: closed SSH, firewalled databases, private versioned expiring buckets, prod backups, DR region separation, no secrets in command text.",
    policies: createPolicies({ prodRegion: prodRegionFromProject(path.join(__dirname, "..")) }),
});
