// postgres.js: lists array types on connect, prepares statements, binds typed parameters.
import postgres from "postgres";

const cfg = JSON.parse(process.argv[2]);
const sql = postgres({ host: cfg.host, port: cfg.port, user: "analyst", database: cfg.database, max: 1,
  connect_timeout: 10 });
const enc = (v) => (Buffer.isBuffer(v) ? "\\x" + v.toString("hex") : v instanceof Date ? v.toISOString() : v);
const rows = (r) => r.map((row) => row.map(enc));
const out = {};
out.types = rows(await sql.unsafe(cfg.types_sql).values());
out.customers = rows(await sql`SELECT customer_id, customer_name, email FROM customer WHERE state = ${"CA"} ORDER BY customer_id LIMIT ${5}`.values());
out.counts = [];
for (const s of ["CA", "NY", "CA"]) out.counts.push((await sql`SELECT count_customers FROM customer WHERE state = ${s}`.values())[0][0]);
out.null_param = (await sql`SELECT count_customers FROM customer WHERE state = ${null}`.values())[0][0];
try {
  await sql`SELECT nope FROM customer`;
} catch (e) {
  out.error_code = e.code;
}
out.after_error = (await sql`SELECT 1 AS one`.values())[0][0];
await sql.end();
console.log(JSON.stringify(out));
