// Connection-string helpers without the driver: the engine registry shows and parses URLs
// for every command, and loading `mongodb` for that costs ~0.4 s of start-up.

/**
 * The connection string without its password, for every message a person sees:
 * `mongodb://app:secret@db:27017/x` → `mongodb://app:***@db:27017/x`.
 */
export function redactMongoUrl(url: string): string {
  return url.replace(/^(mongodb(?:\+srv)?:\/\/)([^@/]*)@/i, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon < 0 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
}

/** Removes the URL's password (as written and percent-decoded) from any text, e.g. a driver error message. */
export function redactSecrets(text: string, url: string): string {
  let out = text.split(url).join(redactMongoUrl(url));
  const userinfo = /^mongodb(?:\+srv)?:\/\/([^@/]*)@/i.exec(url)?.[1];
  const colon = userinfo?.indexOf(':') ?? -1;
  if (userinfo !== undefined && colon >= 0) {
    const raw = userinfo.slice(colon + 1);
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      // not percent-encoded text: the raw form is all there is
    }
    for (const secret of new Set([raw, decoded])) if (secret.length > 0) out = out.split(secret).join('***');
  }
  return out;
}

/** The database named in the connection string's path (`mongodb://host/mydb`), if any. */
export function databaseInMongoUrl(url: string): string | undefined {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]*)/i.exec(url);
  const name = match?.[1] ? decodeURIComponent(match[1]) : '';
  return name === '' ? undefined : name;
}
