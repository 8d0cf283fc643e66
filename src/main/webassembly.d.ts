// The part of the WebAssembly JS API crfs uses. Node has it at run time, but with lib ES2022 and no DOM
// lib TypeScript does not declare it (and @types/node 20 does not either).
declare namespace WebAssembly {
  type ImportValue = Memory | Global | ((...args: never[]) => unknown) | number;
  type Imports = Record<string, Record<string, ImportValue>>;
  type Exports = Record<string, unknown>;

  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Exports;
  }
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(deltaPages: number): number;
  }
  class Global {
    value: unknown;
  }
  function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
}
