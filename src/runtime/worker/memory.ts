// Runs inside the sandbox's vm context, first of the prelude (bytes.ts imports it, so Buffer extends
// the guarded Uint8Array). V8's heap limit does not cover ArrayBuffer backing stores: every way a
// script can allocate one asks the worker first, through `reserve`, which counts the heap and the
// buffers already held against the execution's memory limit. The original constructors stay out of
// reach: the globals and every prototype's `constructor` answer the guarded ones (proxies whose
// prototype chain leads to the abstract %TypedArray%, which cannot allocate), and the methods that
// allocate through a species constructor (which a script may point elsewhere) are guarded too.

/** Asks the worker whether `bytes` more may be allocated; throws a RangeError when not. */
let reserve: (bytes: number) => void = () => undefined;

/** Connects the guard to the worker's accounting; called by `boot`, before any script runs. */
export function setMemoryReserve(fn: (bytes: number) => void): void {
  reserve = fn;
}

const g = globalThis as Record<string, any>;
const TYPED_ARRAYS = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'Float16Array'];

/** Bytes a length stands for (the engine refuses what is negative or not finite). */
function bytesOf(length: number, width = 1): number {
  const n = Math.trunc(length);
  return Number.isFinite(n) && n > 0 ? n * width : 0;
}

// The engine's own getters, taken before any script runs: a script may shadow `length` or
// `byteLength` on an instance, never these.
const getter = (proto: object, key: string) => Object.getOwnPropertyDescriptor(proto, key)!.get!;
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as Record<string, unknown>;
const arrayBufferBytes = getter(ArrayBuffer.prototype, 'byteLength');
const typedArrayBytes = getter(TypedArrayPrototype, 'byteLength');
const typedArrayLength = getter(TypedArrayPrototype, 'length');
/** `read.call(self)`, or 0 when `self` is not what `read` reads (the original method then throws). */
const measured = (read: () => number, self: unknown): number => {
  try {
    return read.call(self);
  } catch {
    return 0;
  }
};
const isArrayBuffer = (value: unknown): boolean => {
  try {
    arrayBufferBytes.call(value);
    return true;
  } catch {
    return false;
  }
};

function lock(target: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: false, enumerable: false, configurable: false });
}

/** `Original` behind a proxy that reserves `size(args)` bytes and passes the arguments `size` settled on. */
function guardConstructor(name: string, size: (args: unknown[]) => unknown[]): void {
  const Original = g[name] as (new (...args: unknown[]) => object) | undefined;
  if (typeof Original !== 'function') return;
  const Guarded = new Proxy(Original, {
    construct(target, args, newTarget) {
      return Reflect.construct(target, size(args), newTarget) as object;
    },
  });
  lock(Original.prototype, 'constructor', Guarded);
  Object.defineProperty(g, name, { value: Guarded, writable: true, enumerable: false, configurable: true });
}

/** Wraps `proto[name]` so it reserves `bytes(this, args)` first. */
function guardMethod(proto: Record<string, unknown>, name: string, bytes: (self: any, args: unknown[]) => number): void {
  const original = proto[name];
  if (typeof original !== 'function') return;
  const guarded = {
    [name](this: unknown, ...args: unknown[]) {
      reserve(bytes(this, args));
      return Reflect.apply(original, this, args);
    },
  }[name]!;
  lock(proto, name, guarded);
}

// Shared memory and WebAssembly memories are not for scripts (no code generation for wasm either).
for (const name of ['SharedArrayBuffer', 'WebAssembly']) delete g[name];

// Lengths are read once, here (a valueOf or getter cannot answer the engine differently), and
// passed on as primitives for the engine to check as it would the script's.
guardConstructor('ArrayBuffer', (args) => {
  const options = args[1] as { maxByteLength?: unknown } | undefined;
  // The engine does not count a growable buffer's memory as it grows: scripts get fixed-size ones.
  if (options !== null && typeof options === 'object' && options.maxByteLength !== undefined) {
    throw new TypeError('Resizable ArrayBuffers (maxByteLength) are not available in scripts');
  }
  const length = Number(args[0]);
  reserve(bytesOf(length));
  return [length];
});
const arrayBufferProto = ArrayBuffer.prototype as unknown as Record<string, unknown>;
const bufferBytes = (self: unknown) => measured(arrayBufferBytes, self);
const newLength = (self: unknown, args: unknown[]) => (args[0] === undefined ? bufferBytes(self) : bytesOf(Number(args[0])));
guardMethod(arrayBufferProto, 'slice', bufferBytes);
guardMethod(arrayBufferProto, 'transfer', newLength);
guardMethod(arrayBufferProto, 'transferToFixedLength', newLength);

for (const name of TYPED_ARRAYS) {
  const Original = g[name] as { BYTES_PER_ELEMENT: number } | undefined;
  if (!Original) continue;
  const width = Original.BYTES_PER_ELEMENT;
  guardConstructor(name, (args) => {
    const [first] = args;
    if (first === null || typeof first !== 'object') {
      const length = Number(first);
      reserve(bytesOf(length, width));
      return [length];
    }
    // A view over an existing buffer allocates nothing.
    if (isArrayBuffer(first)) return args;
    if (ArrayBuffer.isView(first)) {
      reserve(bytesOf(measured(typedArrayLength, first), width));
      return [first];
    }
    // Array-likes and iterables are read once, here, into a real array.
    const values = Array.from(first as ArrayLike<unknown>);
    reserve(bytesOf(values.length, width));
    return [values];
  });
}

// %TypedArray%.prototype: methods that allocate a result as large as `this` at most.
for (const name of ['slice', 'map', 'filter', 'toReversed', 'toSorted', 'with']) guardMethod(TypedArrayPrototype, name, (self) => measured(typedArrayBytes, self));
