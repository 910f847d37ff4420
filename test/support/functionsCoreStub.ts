import Module from "node:module";

/**
 * Outside the Functions host, @azure/functions skips registration without a word, so a binding mistake would go
 * unnoticed. A stand-in for `@azure/functions-core` makes the library take its real path: it validates the options
 * and hands each function's binding metadata over, which is exactly what the host would bind. Install it before the
 * first function file is loaded; node's test runner gives every test file its own process.
 */
export type Binding = Record<string, unknown> & { type: string; direction: string; authLevel?: string; route?: string; methods?: string[] };

export interface RegisteredFunction {
  name: string;
  bindings: Record<string, Binding>;
}

export function recordFunctionRegistrations(): RegisteredFunction[] {
  const registered: RegisteredFunction[] = [];
  const coreStub = {
    setProgrammingModel: () => undefined,
    registerFunction: (metadata: RegisteredFunction) => {
      registered.push(metadata);
      return { dispose: () => undefined };
    },
    registerHook: () => ({ dispose: () => undefined }),
    log: () => undefined,
  };
  const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const originalLoad = loader._load;
  loader._load = (request, parent, isMain) => (request === "@azure/functions-core" ? coreStub : originalLoad(request, parent, isMain));
  return registered;
}
