// Public surface of the config package: tables, pure validators and the schema.
export * from "./keys";
export * from "./raw";
export * from "./regions";
export * from "./schema";
export * from "./validators";
export * from "./platform-args";
