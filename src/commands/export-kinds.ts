/** What `journeyctl export` can write; light, so the command tree names them without loading the stores. */
export const EXPORT_KINDS = ['events', 'sessions', 'rejected', 'profiles', 'journeys', 'labels', 'flags', 'bursts'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];
