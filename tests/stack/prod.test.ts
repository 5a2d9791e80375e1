// Layer 2: the prod stack under mocks, from Pulumi.yaml + Pulumi.prod.yaml.
// One file per stack: vitest gives each file its own process, so Pulumi's global
// runtime state never carries over between stacks.
import { stackSuite } from "./stack-checks";

stackSuite("prod", { protected: true, dropletBackups: true });
