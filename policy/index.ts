// Entry point of the policy pack: `pulumi preview --policy-pack policy` runs this file.
// It only constructs the PolicyPack, because constructing one starts the gRPC server the
// Pulumi CLI talks to; the policies and their checks live in ./policies.ts, which the
// tests import.
//
// How it resolves: this folder has its own package.json (the CLI reads the pack version
// from it) and tsconfig.json, but no node_modules. Node's module lookup walks up to the
// project's node_modules, so `npm ci` at the root is the only install; @pulumi/policy is
// a root dependency. The CLI's nodejs runtime compiles this file with the root ts-node
// and TypeScript, using policy/tsconfig.json.
import { PolicyPack } from "@pulumi/policy";
import * as path from "node:path";
import { createPolicies, prodRegionFromProject } from "./policies";

new PolicyPack("income-fortress", {
    description: "Guardrails for the Income Fortress recovery stack: closed SSH, firewalled databases, private versioned expiring buckets, prod backups, DR region separation, no secrets in command text.",
    policies: createPolicies({ prodRegion: prodRegionFromProject(path.join(__dirname, "..")) }),
});
