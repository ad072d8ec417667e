// Runs inside the sandbox's vm context, where Node's Buffer, TextEncoder and atob do not exist:
// small, dependency-free versions of what scripts commonly use.
// First: the memory guard replaces Uint8Array before SandboxBuffer extends it.
import './memory';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX: Record<string, number> = {};
for (let i = 0; i < B64.length; i++) B64_INDEX[B64[i]!] = i;
B64_INDEX['-'] = 62;
B64_INDEX['_'] = 63;

export function utf8Encode(text: string): Uint8Array {
  // At most 3 bytes per UTF-16 unit; allocated at once (and counted against the memory limit) rather than grown on the heap.
  const out = new Uint8Array(text.length * 3);
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next < 0xe000) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else code = 0xfffd;
    } else if (code >= 0xd800 && code < 0xe000) code = 0xfffd;
    if (code < 0x80) out[at++] = code;
    else if (code < 0x800) (out[at++] = 0xc0 | (code >> 6)), (out[at++] = 0x80 | (code & 63));
    else if (code < 0x10000) (out[at++] = 0xe0 | (code >> 12)), (out[at++] = 0x80 | ((code >> 6) & 63)), (out[at++] = 0x80 | (code & 63));
    else (out[at++] = 0xf0 | (code >> 18)), (out[at++] = 0x80 | ((code >> 12) & 63)), (out[at++] = 0x80 | ((code >> 6) & 63)), (out[at++] = 0x80 | (code & 63));
  }
  return out.slice(0, at);
}

export function utf8Decode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    let code = 0xfffd;
    let size = 1;
    if (b < 0x80) code = b;
    else if (b >= 0xc2 && b < 0xe0 && i + 1 < bytes.length) (code = ((b & 31) << 6) | (bytes[i + 1]! & 63)), (size = 2);
    else if (b >= 0xe0 && b < 0xf0 && i + 2 < bytes.length) (code = ((b & 15) << 12) | ((bytes[i + 1]! & 63) << 6) | (bytes[i + 2]! & 63)), (size = 3);
    else if (b >= 0xf0 && b < 0xf5 && i + 3 < bytes.length)
      (code = ((b & 7) << 18) | ((bytes[i + 1]! & 63) << 12) | ((bytes[i + 2]! & 63) << 6) | (bytes[i + 3]! & 63)), (size = 4);
    out += String.fromCodePoint(code);
    i += size;
  }
  return out;
}

export function base64Encode(bytes: Uint8Array, url = false): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + (i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=') + (i + 2 < bytes.length ? B64[n & 63]! : '=');
  }
  return url ? out.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : out;
}

export function base64Decode(text: string): Uint8Array {
  const clean = text.replace(/[^A-Za-z0-9+/\-_]/g, '');
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of clean) {
    buffer = (buffer << 6) | B64_INDEX[char]!;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

export function hexEncode(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += (b < 16 ? '0' : '') + b.toString(16);
  return out;
}

function hexDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i + 1 < text.length; i += 2) {
    const n = parseInt(text.slice(i, i + 2), 16);
    if (Number.isNaN(n)) break;
    out.push(n);
  }
  return Uint8Array.from(out);
}

function latin1Decode(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

function encode(text: string, encoding = 'utf8'): Uint8Array {
  switch (encoding.toLowerCase()) {
    case 'hex':
      return hexDecode(text);
    case 'base64':
    case 'base64url':
      return base64Decode(text);
    case 'latin1':
    case 'binary':
    case 'ascii':
      return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
    default:
      return utf8Encode(text);
  }
}

function decode(bytes: Uint8Array, encoding = 'utf8'): string {
  switch (encoding.toLowerCase()) {
    case 'hex':
      return hexEncode(bytes);
    case 'base64':
      return base64Encode(bytes);
    case 'base64url':
      return base64Encode(bytes, true);
    case 'latin1':
    case 'binary':
      return latin1Decode(bytes);
    case 'ascii':
      return latin1Decode(bytes.map((b) => b & 0x7f));
    default:
      return utf8Decode(bytes);
  }
}

/** The part of Node's Buffer that scripts use: from/alloc/concat/toString with utf8, hex, base64, latin1. */
export class SandboxBuffer extends Uint8Array {
  static override from(value: unknown, encodingOrOffset?: unknown, length?: number): SandboxBuffer {
    if (typeof value === 'string') return SandboxBuffer.wrap(encode(value, typeof encodingOrOffset === 'string' ? encodingOrOffset : 'utf8'));
    if (value instanceof ArrayBuffer) return new SandboxBuffer(value, (encodingOrOffset as number) ?? 0, length ?? value.byteLength - ((encodingOrOffset as number) ?? 0));
    if (ArrayBuffer.isView(value)) return SandboxBuffer.wrap(new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice());
    if (Array.isArray(value)) return SandboxBuffer.wrap(Uint8Array.from(value as number[]));
    const data = (value as { type?: string; data?: unknown } | null)?.data;
    if ((value as { type?: string } | null)?.type === 'Buffer' && Array.isArray(data)) return SandboxBuffer.wrap(Uint8Array.from(data as number[]));
    throw new TypeError('Buffer.from expects a string, an array, an ArrayBuffer or a typed array');
  }

  static alloc(size: number, fill: number | string = 0): SandboxBuffer {
    const buffer = new SandboxBuffer(size);
    if (typeof fill === 'number') buffer.fill(fill);
    else if (fill.length) {
      const bytes = utf8Encode(fill);
      for (let i = 0; i < size; i++) buffer[i] = bytes[i % bytes.length]!;
    }
    return buffer;
  }

  /** As Node's, without the uninitialised memory: zero-filled. */
  static allocUnsafe(size: number): SandboxBuffer {
    return new SandboxBuffer(size);
  }

  static isBuffer(value: unknown): value is SandboxBuffer {
    return value instanceof SandboxBuffer;
  }

  static byteLength(value: string | Uint8Array, encoding?: string): number {
    return typeof value === 'string' ? encode(value, encoding).length : value.byteLength;
  }

  static concat(list: Uint8Array[], total?: number): SandboxBuffer {
    const length = total ?? list.reduce((n, b) => n + b.length, 0);
    const out = new SandboxBuffer(length);
    let at = 0;
    for (const b of list) {
      out.set(b.subarray(0, Math.max(0, length - at)), at);
      at += b.length;
      if (at >= length) break;
    }
    return out;
  }

  private static wrap(bytes: Uint8Array): SandboxBuffer {
    return new SandboxBuffer(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  }

  override toString(encoding = 'utf8', start = 0, end = this.length): string {
    return decode(this.subarray(start, end), encoding);
  }

  toJSON(): { type: 'Buffer'; data: number[] } {
    return { type: 'Buffer', data: Array.from(this) };
  }

  equals(other: Uint8Array): boolean {
    return this.length === other.length && this.every((b, i) => b === other[i]);
  }

  write(text: string, offset = 0): number {
    const bytes = utf8Encode(text).subarray(0, Math.max(0, this.length - offset));
    this.set(bytes, offset);
    return bytes.length;
  }
}

export { decode as decodeBytes, encode as encodeText };
