// Placeholder until the real-service harness lands: starts nothing yet.
export default async function setup(): Promise<void> {}
