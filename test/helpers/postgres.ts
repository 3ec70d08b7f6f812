// The PostgreSQL server tests run against (SOVEREIGN_TEST_PG, default the local one, db "test").
import pg from 'pg';

export const PG_URL = process.env.SOVEREIGN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Null when the server answers, else why not (tests skip with it, or fail under CI). */
export async function pgUnreachable(): Promise<string | null> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (err) {
    return `PostgreSQL at ${PG_URL} is unreachable (${(err as Error).message}); set SOVEREIGN_TEST_PG`;
  } finally {
    await c.end().catch(() => undefined);
  }
}
