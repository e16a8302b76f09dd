/** Fast ISO-8601 UTC formatting (same output as Date#toISOString for years 0–9999). */

const DAY_MS = 86_400_000;
const P2: string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const P3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const dayPrefix = new Map<number, string>();

export function iso(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefix.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    if (dayPrefix.size > 10_000) dayPrefix.clear();
    dayPrefix.set(day, prefix);
  }
  let r = ms - day * DAY_MS;
  const h = Math.floor(r / 3_600_000);
  r -= h * 3_600_000;
  const m = Math.floor(r / 60_000);
  r -= m * 60_000;
  const s = Math.floor(r / 1000);
  r -= s * 1000;
  return `${prefix}${P2[h] as string}:${P2[m] as string}:${P2[s] as string}.${P3[r] as string}Z`;
}
