import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { invalidConfig } from '../errors.ts';

/*
 * The keys that sign closed sessions' chains (spec §15): Ed25519. The current key signs; it and
 * the previous ones verify, and are published at /.well-known/reel-signing-key.pem. A key's id is
 * the first 16 hex digits of the SHA-256 of its public key (SubjectPublicKeyInfo, DER), so anyone
 * holding the PEM can tell which key made a signature.
 */

export interface SigningKeys {
  current: { id: string; privateKey: KeyObject };
  /** Every public key that verifies, by id: the current one first. */
  verifying: Map<string, KeyObject>;
}

export const keyIdOf = (publicKey: KeyObject): string =>
  createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);

/** The PEM blocks of a text (a file or a variable may hold several). */
function pemBlocks(text: string): string[] {
  return text.replace(/\\n/g, '\n').match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? [];
}

function ed25519(key: KeyObject, variable: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw invalidConfig(variable, `must be an Ed25519 key, not ${key.asymmetricKeyType ?? 'a symmetric key'}`);
  return key;
}

/** A private key from PEM text; INVALID_CONFIG naming `variable` otherwise. */
function privateKeyFrom(pem: string, variable: string): KeyObject {
  const [block] = pemBlocks(pem);
  try {
    return ed25519(createPrivateKey(block ?? pem), variable);
  } catch (err) {
    if (err instanceof Error && err.name === 'ReelError') throw err;
    throw invalidConfig(variable, 'must be an Ed25519 private key in PEM (PKCS #8)');
  }
}

/** Public keys from PEM blocks, public or private (a previous private key verifies too). */
function publicKeysFrom(text: string, variable: string): KeyObject[] {
  return pemBlocks(text).map((block) => {
    try {
      return ed25519(createPublicKey(block), variable);
    } catch (err) {
      if (err instanceof Error && err.name === 'ReelError') throw err;
      throw invalidConfig(variable, 'must hold Ed25519 keys in PEM');
    }
  });
}

const KEY_FILE = 'signing-key.pem';

/**
 * The signing keys: REEL_SIGNING_KEY (PEM), else the key kept in the data directory, generated
 * there (owner-only) on first use; REEL_SIGNING_OLD_KEYS adds keys that only verify.
 */
export function loadSigningKeys(options: { signingKey?: string | undefined; oldKeys?: string | undefined; dataDir: string; create?: boolean }): SigningKeys {
  let privateKey: KeyObject;
  if (options.signingKey) {
    privateKey = privateKeyFrom(options.signingKey, 'REEL_SIGNING_KEY');
  } else {
    const file = path.join(options.dataDir, KEY_FILE);
    if (!fs.existsSync(file)) {
      if (options.create === false) throw invalidConfig('REEL_SIGNING_KEY', `is not set and ${file} does not exist: no signing key to verify with (pass --public-key)`);
      fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
      const generated = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      try {
        fs.writeFileSync(file, generated, { flag: 'wx', mode: 0o600 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process made it first
      }
    }
    privateKey = privateKeyFrom(fs.readFileSync(file, 'utf8'), `${file} (the generated signing key)`);
  }
  const currentPublic = createPublicKey(privateKey);
  const current = { id: keyIdOf(currentPublic), privateKey };
  const verifying = new Map<string, KeyObject>([[current.id, currentPublic]]);
  const old = options.oldKeys?.trim() ?? '';
  if (old !== '' && pemBlocks(old).length === 0) throw invalidConfig('REEL_SIGNING_OLD_KEYS', 'must hold PEM blocks (the keys themselves, not file names)');
  for (const key of publicKeysFrom(old, 'REEL_SIGNING_OLD_KEYS')) verifying.set(keyIdOf(key), key);
  return { current, verifying };
}

/** Signs a chain's final digest (its 32 bytes) with the current key. */
export function signDigest(keys: SigningKeys, digest: Uint8Array): { signature: Buffer; keyId: string } {
  return { signature: sign(null, digest, keys.current.privateKey), keyId: keys.current.id };
}

/** Whether `signature` is the signature of `digest` by the public key `key`. */
export function verifyDigest(key: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(null, digest, key, signature);
  } catch {
    return false;
  }
}

/** The public keys as PEM, the current one first (what /.well-known/reel-signing-key.pem serves). */
export function publicKeysPem(keys: SigningKeys): string {
  return [...keys.verifying.values()].map((k) => k.export({ type: 'spki', format: 'pem' }) as string).join('');
}

/** Public keys from a PEM file (reel verify --public-key). */
export function publicKeysFromFile(file: string): Map<string, KeyObject> {
  return new Map(publicKeysFrom(fs.readFileSync(file, 'utf8'), file).map((k) => [keyIdOf(k), k]));
}

// The process's keys: how to load them is set when its database is opened (server and commands
// alike); they are loaded when first needed, so a command that signs nothing creates no key file.
let load: (() => SigningKeys) | undefined;
let loaded: SigningKeys | undefined;

export function setSigningKeys(loader: (() => SigningKeys) | undefined): void {
  load = loader;
  loaded = undefined;
}

export function signingKeys(): SigningKeys {
  if (!load) throw new Error('signing keys not configured');
  return (loaded ??= load());
}
