import { createSecretKey, type KeyObject } from 'node:crypto';

/**
 * The HS256 key of access tokens, prepared once. Given the secret as a string, jsonwebtoken first tries it as
 * a PEM key (crypto.createPublicKey on every verification, createPrivateKey on every signing, each failing):
 * a sixth of the API's CPU under load. The bytes are the secret's UTF-8, as jsonwebtoken would take them.
 */
export const accessTokenKey = (secret: string): KeyObject => createSecretKey(Buffer.from(secret, 'utf8'));
