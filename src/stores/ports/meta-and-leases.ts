export interface LeaseHolder {
  pid: number;
  hostname: string;
  command: string;
  startedAt: number;
}

export type LeaseResult = { acquired: true } | { acquired: false; holder: LeaseHolder; expiresAt: number };

/** The small coordination state several processes share: named values, versions, leases. */
export interface MetaAndLeases {
  /** Small named values shared by processes (reprocess checkpoints). */
  readMeta(key: string): Promise<string | null>;
  writeMeta(key: string, value: string | null): Promise<void>;
  /** A store-wide monotonic number: analytics rows written later always carry a higher version. */
  nextVersion(): Promise<number>;
  acquireLease(name: string, holder: LeaseHolder, ttlMs: number): Promise<LeaseResult>;
  releaseLease(name: string, holder: LeaseHolder): Promise<void>;
}
