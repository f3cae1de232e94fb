/**
 * The cluster's "database" of machines: registering a tentacle on any node makes its
 * thumbprint trusted by every node (an HA cluster shares one database).
 */
export interface Machine {
  id: string;
  name: string;
  spaceId: string;
  environmentIds: string[];
  roles: string[];
  /** Tentacle certificate thumbprint (upper-case hex). */
  thumbprint: string;
  /** poll://.../ subscription id. */
  subscriptionId: string;
  /** A Kubernetes agent (KubernetesTentacle, polling mode); absent for a polling Tentacle (TentacleActive). */
  communicationStyle?: 'KubernetesTentacle';
  createdAt: string;
}

export type NewMachine = Omit<Machine, 'id' | 'createdAt'>;

export interface MachineRegistry {
  /** Add a machine; rejects with a message when the name is already used in the space. */
  register(m: NewMachine): Promise<Machine>;
  get(spaceId: string, id: string): Machine | undefined;
  list(spaceId: string): Machine[];
  delete(spaceId: string, id: string): Promise<boolean>;
  /** Case-insensitive thumbprint trust check (what the polling listener asks). */
  isTrusted(thumbprint: string): boolean;
  /** Every registered subscription id (the workload queues one probe per subscription). */
  subscriptions(): Iterable<Machine>;
}
