import { randomBytes } from 'node:crypto';

/** A fresh embedded-cluster API key in Octopus's form: `API-` + 32 upper-case letters and digits. A secret. */
export function newApiKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let key = 'API-';
  for (const b of randomBytes(32)) key += alphabet[b % alphabet.length];
  return key;
}
