import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Thrown when a value cannot be decrypted with the configured key (wrong key or tampered data). */
export class DecryptionError extends Error {
  override name = 'DecryptionError';
}

const VERSION = 'v1';

/**
 * AES-256-GCM for secrets at rest. A sealed value is `v1:<iv>:<tag>:<ciphertext>` (base64 parts,
 * 12-byte IV, 16-byte tag), so a raw column never holds the plaintext and tampering is detected.
 *
 * @example
 * const cipher = new Cipher(randomBytes(32));
 * cipher.decrypt(cipher.encrypt('s3cret')) === 's3cret';
 */
export class Cipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('AES-256-GCM needs a 32-byte key');
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
  }

  decrypt(sealed: string): string {
    const [version, iv, tag, body] = sealed.split(':');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new DecryptionError('not an encrypted value');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new DecryptionError('value does not decrypt with this key');
    }
  }

  encryptJson(value: unknown): string {
    return this.encrypt(JSON.stringify(value));
  }

  decryptJson<T>(sealed: string): T {
    return JSON.parse(this.decrypt(sealed)) as T;
  }
}
