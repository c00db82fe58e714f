import { hash, verify } from '@node-rs/argon2';
import { AppError } from '../errors.ts';
import { LIMITS } from '../protocol/constants.ts';

// Letters, digits, underscore, dot and dash; starts with a letter or digit. ASCII
// only, so look-alike names ("аna" with a Cyrillic a) cannot impersonate anyone.
const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function validateUsername(username: string): string {
  const name = username.trim();
  if (name.length < LIMITS.usernameMin || name.length > LIMITS.usernameMax) {
    throw new AppError('invalid_username', `username must be ${LIMITS.usernameMin}–${LIMITS.usernameMax} characters`);
  }
  if (!USERNAME_RE.test(name)) {
    throw new AppError('invalid_username', 'username may contain letters, digits, "_", "." and "-", and must start with a letter or digit');
  }
  return name;
}

export function validatePassword(password: string): string {
  if (password.length < LIMITS.passwordMin || password.length > LIMITS.passwordMax) {
    throw new AppError('invalid_password', `password must be ${LIMITS.passwordMin}–${LIMITS.passwordMax} characters`);
  }
  return password;
}

// argon2id with OWASP's minimum profile (19 MiB, t=2): ~20 ms here, cheap enough
// for a login rate limited per IP and per account, costly for offline guessing.
const ARGON2 = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** A hash of a random password, verified against when the username is unknown so timing does not reveal accounts. */
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword('decoy-password-never-matches');
  return decoyHash;
}
