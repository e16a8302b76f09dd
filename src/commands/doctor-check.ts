/** One row of `journeyctl doctor`; apart from doctor.ts so doctor-damage.ts can build rows without a cycle. */
export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface DoctorCheck {
  component: 'raw store' | 'analytics store' | 'kafka' | 'pubsub';
  check: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a failure. */
  fix: string;
}
