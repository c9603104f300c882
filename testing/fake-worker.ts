// A stand-in for the part of the Azure Functions Node.js worker that `@azure/functions` talks to.
//
// The real worker (azure-functions-nodejs-worker, `setupCoreModule`) makes `@azure/functions-core`
// resolvable by wrapping `Module.prototype.require`; the library then calls `setProgrammingModel` and
// `registerFunction(metadata, callback)` on it. Without it the library runs in "test mode" and skips
// registration with a warning. This installs the same kind of wrapper with a recording core API, so a
// test sees exactly the metadata and callbacks the worker would receive, from source or from the bundle.
import Module from "node:module";

export interface Binding {
  type: string;
  direction: string;
  [key: string]: unknown;
}

export interface Registration {
  metadata: { name: string; bindings: Record<string, Binding> };
  callback: (...args: unknown[]) => unknown;
}

export interface FakeWorker {
  registrations: Registration[];
  programmingModel: { name: string; version: string } | undefined;
  /** The registration whose trigger binding has this type (`httpTrigger`, `timerTrigger`). */
  byTrigger(type: string): Registration | undefined;
}

export function installFakeWorker(): FakeWorker {
  const worker: FakeWorker = {
    registrations: [],
    programmingModel: undefined,
    byTrigger: (type) =>
      worker.registrations.find((r) => Object.values(r.metadata.bindings).some((b) => b.type === type)),
  };
  const core = {
    version: "fake-worker",
    hostVersion: "4.1040.0",
    // Present since host 4.28; `app.setup({ enableHttpStream: true })` checks for it.
    log: () => {},
    setProgrammingModel(model: { name: string; version: string }) {
      worker.programmingModel = model;
    },
    getProgrammingModel: () => worker.programmingModel,
    registerFunction(metadata: Registration["metadata"], callback: Registration["callback"]) {
      worker.registrations.push({ metadata, callback });
      return { dispose() {} };
    },
    registerHook: () => ({ dispose() {} }),
    Disposable: class {
      dispose() {}
    },
  };
  const proto = Module.prototype as unknown as { require: (id: string) => unknown };
  proto.require = new Proxy(proto.require, {
    apply(target, thisArg, args: [string]) {
      return args[0] === "@azure/functions-core" ? core : Reflect.apply(target, thisArg, args);
    },
  });
  return worker;
}
