import { describe } from "node:test";
import { MemoryStore } from "../../api/src/store/memory.ts";
import { runStoreCases } from "./store.cases.ts";

describe("MemoryStore", () => {
  runStoreCases(async (clock) => new MemoryStore({ now: clock.now }));
});
