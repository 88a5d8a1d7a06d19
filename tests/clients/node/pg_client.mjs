// node-postgres (`pg`): extended protocol, named statements reused with only Bind, typed values, cursors-free.
// Usage: node pg_client.mjs '<json config>' ; prints one JSON document with the results.
import pg from "pg";

const cfg = JSON.parse(process.argv[2]);
const client = new pg.Client({ host: cfg.host, port: cfg.port, user: "analyst", database: cfg.database });
const enc = (v) => (Buffer.isBuffer(v) ? "\\x" + v.toString("hex") : v instanceof Date ? v.toISOString() : v);
const rows = (r) => r.rows.map((row) => row.map(enc));
await client.connect();
const out = {};
out.types = rows(await client.query({ text: cfg.types_sql, rowMode: "array" }));
out.customers = rows(await client.query({ text: cfg.customers_sql, values: ["CA", 5], rowMode: "array" }));
const named = { name: "count_by_state", text: "SELECT count_customers FROM customer WHERE state = $1", rowMode: "array" };
out.counts = [];
for (const s of ["CA", "NY", "CA"]) out.counts.push(rows(await client.query({ ...named, values: [s] }))[0][0]);
out.null_param = rows(await client.query({ ...named, values: [null] }))[0][0];
try {
  await client.query("SELECT nope FROM customer");
} catch (e) {
  out.error_code = e.code;
}
out.after_error = rows(await client.query({ text: "SELECT 1 AS one", rowMode: "array" }))[0][0];
await client.end();
console.log(JSON.stringify(out));
