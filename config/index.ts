// Public surface of the config package: the key table, the value rules, the schema and
// the parsed shape it produces.
export * from "./keys";
export * from "./raw";
export * from "./regions";
export * from "./rules";
export * from "./schema";
export { parseSetOnceKey } from "./set-once";
