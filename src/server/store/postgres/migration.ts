/** One numbered step of the PostgreSQL store's schema (schema.ts applies them in order). */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}
