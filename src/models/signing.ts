// Ed25519 keys and detached manifest signatures (node:crypto only). A public key travels as one line,
// the base64 of its 32 raw bytes, so it fits a config value or an environment variable; the private key
// stays a PKCS#8 PEM file. manifest.sig sits beside manifest.json and is not listed in its files.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalBytes } from './canonical.js';

export const SIGNATURE_FILE = 'manifest.sig';

export interface SignatureFile {
  alg: 'ed25519';
  /** keyIdOf() of the signing key: says which trusted key to try, and names it in messages. */
  keyId: string;
  /** base64 of the 64-byte Ed25519 signature over canonicalBytes(manifest). */
  signature: string;
}

export interface KeyPair { privatePem: string; publicKey: string }

export function generateKeys(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey: rawPublic(publicKey) };
}

function rawPublic(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

/** A public key from its one-line form (base64 of 32 bytes) or a PEM (SPKI). */
export function parsePublicKey(text: string): KeyObject {
  const t = text.trim();
  if (t.startsWith('-----BEGIN')) {
    const key = createPublicKey(t);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`public key is ${key.asymmetricKeyType}, not ed25519`);
    return key;
  }
  const raw = Buffer.from(t, 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== t) throw new Error('public key must be the base64 of 32 bytes (as `model keygen` writes it) or a PEM');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** Short fingerprint: the first 16 hex digits of the SHA-256 of the raw public key. */
export function keyIdOf(key: KeyObject): string {
  return createHash('sha256').update(Buffer.from(rawPublic(key), 'base64')).digest('hex').slice(0, 16);
}

export function signManifest(manifest: unknown, privatePem: string): SignatureFile {
  const priv = createPrivateKey(privatePem);
  if (priv.asymmetricKeyType !== 'ed25519') throw new Error(`private key is ${priv.asymmetricKeyType}, not ed25519`);
  const signature = sign(null, canonicalBytes(manifest), priv).toString('base64');
  return { alg: 'ed25519', keyId: keyIdOf(createPublicKey(priv)), signature };
}

/** The keyId of the trusted key that verifies the signature, or null when none does. */
export function verifyManifestSignature(manifest: unknown, sig: SignatureFile, trusted: readonly KeyObject[]): string | null {
  const bytes = canonicalBytes(manifest);
  const signature = Buffer.from(sig.signature, 'base64');
  if (signature.length !== 64) return null;
  for (const key of trusted) {
    if (verify(null, bytes, key, signature)) return keyIdOf(key);
  }
  return null;
}

export function parseSignatureFile(text: string): SignatureFile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${SIGNATURE_FILE} is not JSON`);
  }
  const o = v as Partial<SignatureFile> | null;
  if (!o || typeof o !== 'object' || o.alg !== 'ed25519' || typeof o.signature !== 'string' || typeof o.keyId !== 'string') {
    throw new Error(`${SIGNATURE_FILE} must be {"alg":"ed25519","keyId":…,"signature":…}`);
  }
  return { alg: 'ed25519', keyId: o.keyId, signature: o.signature };
}
