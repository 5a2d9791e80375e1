// Layer 1: the URN a project lists a reserved IP under.
import { describe, expect, it } from "vitest";
import { reservedIpProjectUrn } from "../../components/project";

describe("reservedIpProjectUrn", () => {
    it.each([
        ["192.0.2.200", "do:floatingip:192.0.2.200"],
        ["203.0.113.7", "do:floatingip:203.0.113.7"],
    ])("%s is listed as %s, the form the Projects API reports back, not the provider's do:reservedip:", (ip, urn) => {
        expect(reservedIpProjectUrn(ip)).toBe(urn);
        expect(reservedIpProjectUrn(ip)).not.toMatch(/^do:reservedip:/);
    });
});
