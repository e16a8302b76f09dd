/** "12%", "1.5%": shares in flag details. */
export function percent(value: number): string {
  return `${(value * 100).toFixed(value < 0.1 ? 1 : 0)}%`;
}
