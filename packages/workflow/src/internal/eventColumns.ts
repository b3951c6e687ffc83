/**
 * The columns of a table of events (a CSV file's, a Parquet file's) that are the event's own fields, read as written;
 * every other column is a property. One list, so that CSV and Parquet read the same table the same way.
 */
export const eventColumns: ReadonlySet<string> = new Set([
  "event_name",
  "timestamp",
  "customer_id",
  "external_customer_id",
  "idempotency_key"
])
