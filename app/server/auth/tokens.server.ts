import { createHash, randomBytes } from 'node:crypto';

/** A random credential (256 bits) and the SHA-256 under which it is stored. */
export function newSecretToken(prefix: string): { token: string; hash: string } {
  const token = `${prefix}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
