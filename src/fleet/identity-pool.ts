import type { SecureContext } from 'node:tls';
import { generateCertificate, generateKeyPair, type CertificateIdentity } from '../pki/certificate.js';
import { newSubscriptionId } from '../halibut/subscription.js';
import { tentacleSecureContext } from '../tentacle/tentacle.js';

export interface FleetIdentity {
  identity: CertificateIdentity;
  secureContext: SecureContext;
  subscriptionId: string;
}

/**
 * One certificate and subscription id per tentacle, like a real fleet. RSA-2048 key
 * generation costs ~85 ms, so `keyPairs` keys are made and shared round robin; each
 * certificate still has its own serial, so its own thumbprint (signing one: ~3 ms).
 */
export async function createFleetIdentities(count: number, keyPairs: number, onProgress?: (done: number) => void): Promise<FleetIdentity[]> {
  const keys = await Promise.all(Array.from({ length: Math.min(keyPairs, count) }, () => generateKeyPair()));
  const out: FleetIdentity[] = [];
  // Each certificate comes with its key exported afresh; the tentacles of one key pair keep one copy of it.
  const keyPems: string[] = [];
  for (let i = 0; i < count; i++) {
    const k = i % keys.length;
    const generated = await generateCertificate({ commonName: 'Octopus Tentacle', keys: keys[k] });
    const identity: CertificateIdentity = { ...generated, keyPem: (keyPems[k] ??= generated.keyPem) };
    out.push({ identity, secureContext: tentacleSecureContext(identity), subscriptionId: newSubscriptionId() });
    if (onProgress && i % 100 === 99) onProgress(i + 1);
  }
  return out;
}

/**
 * A single given identity (external runs without register), shared by `count` tentacles:
 * Halibut authorises by thumbprint, so one certificate may serve the whole fleet -- but
 * each tentacle gets a fresh random subscription of its own. A subscription is where a
 * node queues a machine's work: sharing one (or claiming a real machine's) would hand
 * pollfleet that machine's requests. The node serves a fresh one an empty queue.
 */
export function sharedIdentity(identity: CertificateIdentity, count: number): FleetIdentity[] {
  const secureContext = tentacleSecureContext(identity);
  return Array.from({ length: Math.max(1, count) }, () => ({ identity, secureContext, subscriptionId: newSubscriptionId() }));
}

/** One given identity with a fresh random subscription (a single tentacle, e.g. in tests). */
export function fixedIdentity(identity: CertificateIdentity): FleetIdentity {
  return sharedIdentity(identity, 1)[0]!;
}
