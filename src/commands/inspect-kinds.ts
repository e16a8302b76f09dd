/** What `journeyctl inspect <kind>` accepts; apart so inspect.ts and its registration share it without a cycle. */
export const INSPECT_KINDS = ['user', 'session'] as const;
