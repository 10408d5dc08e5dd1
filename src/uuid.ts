const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A malformed id can never name a row; checking first keeps PostgreSQL's uuid cast errors away. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
