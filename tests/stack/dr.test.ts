// Layer 2: the dr stack under mocks, from Pulumi.yaml + Pulumi.dr.yaml.
import { stackSuite } from "./stack-checks";

stackSuite("dr", { protected: false, dropletBackups: false });
