// A JDBC tool's first minute through pgJDBC: every DatabaseMetaData call, prepared statements with typed
// parameters, ParameterMetaData, ResultSetMetaData and cursors. Run by tests/clients/test_jdbc_client.py
// against lens-proxy and against PostgreSQL over the same rows; it prints one canonical text dump
// ("## section" headers, tab-separated rows, \N for NULL) and the test compares the two dumps section by
// section. Usage: java ClientMinute <jdbc url> <user>
import java.math.BigDecimal;
import java.sql.*;
import java.util.ArrayList;
import java.util.List;

public class ClientMinute {
  interface Call { Object run() throws SQLException; }

  static final String[] ENTITIES = {"customer", "order_placed", "order_rejected", "order_invoiced"};

  static String text(Object v) {
    if (v == null) return "\\N";
    return v.toString().replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n");
  }

  static void section(String name) { System.out.println("## " + name); }

  static void rows(ResultSet rs) throws SQLException {
    ResultSetMetaData md = rs.getMetaData();
    StringBuilder head = new StringBuilder("cols");
    for (int i = 1; i <= md.getColumnCount(); i++) head.append('\t').append(md.getColumnLabel(i));
    System.out.println(head);
    while (rs.next()) {
      StringBuilder row = new StringBuilder("row");
      for (int i = 1; i <= md.getColumnCount(); i++) row.append('\t').append(text(rs.getString(i)));
      System.out.println(row);
    }
    rs.close();
  }

  static void run(String name, Call call) {
    section(name);
    try {
      Object result = call.run();
      if (result instanceof ResultSet) rows((ResultSet) result);
      else System.out.println("value\t" + text(result));
    } catch (SQLException e) {
      System.out.println("error\t" + e.getSQLState());
    }
  }

  static void describe(ResultSetMetaData md) throws SQLException {
    for (int i = 1; i <= md.getColumnCount(); i++) {
      System.out.println("column\t" + String.join("\t", md.getColumnName(i), md.getColumnLabel(i),
          String.valueOf(md.getColumnType(i)), md.getColumnTypeName(i), md.getTableName(i), md.getSchemaName(i),
          String.valueOf(md.isNullable(i)), String.valueOf(md.getPrecision(i)), String.valueOf(md.getScale(i)),
          String.valueOf(md.getColumnDisplaySize(i)), md.getColumnClassName(i), String.valueOf(md.isAutoIncrement(i)),
          String.valueOf(md.isCaseSensitive(i)), String.valueOf(md.isSigned(i)), String.valueOf(md.isSearchable(i))));
    }
  }

  static void parameters(ParameterMetaData pmd) throws SQLException {
    for (int i = 1; i <= pmd.getParameterCount(); i++) {
      System.out.println("param\t" + String.join("\t", String.valueOf(pmd.getParameterType(i)),
          pmd.getParameterTypeName(i), pmd.getParameterClassName(i), String.valueOf(pmd.getParameterMode(i)),
          String.valueOf(pmd.isNullable(i)), String.valueOf(pmd.isSigned(i))));
    }
  }

  interface Binder { void bind(PreparedStatement ps) throws SQLException; }

  static void prepared(Connection c, String name, String sql, Binder binder) {
    section("prepared " + name);
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      parameters(ps.getParameterMetaData());
      ResultSetMetaData before = ps.getMetaData();  // Describe of the statement, before any execution
      if (before != null) describe(before);
      // pgJDBC switches to a named server-side statement (and binary transfer) after prepareThreshold (5)
      for (int run = 1; run <= 6; run++) {
        binder.bind(ps);
        try (ResultSet rs = ps.executeQuery()) {
          if (run == 1 || run == 6) {
            System.out.println("run\t" + run);
            describe(rs.getMetaData());
            rows(rs);
          }
        }
      }
    } catch (SQLException e) {
      System.out.println("error\t" + e.getSQLState());
    }
  }

  static void bind(PreparedStatement ps, int i, String spec) throws SQLException {
    String type = spec.substring(0, spec.indexOf('=')), value = spec.substring(spec.indexOf('=') + 1);
    switch (type) {
      case "string": ps.setString(i, value); break;
      case "long": ps.setLong(i, Long.parseLong(value)); break;
      case "double": ps.setDouble(i, Double.parseDouble(value)); break;
      case "boolean": ps.setBoolean(i, Boolean.parseBoolean(value)); break;
      case "date": ps.setDate(i, Date.valueOf(value)); break;
      case "timestamp": ps.setTimestamp(i, Timestamp.valueOf(value)); break;
      case "localdatetime": ps.setObject(i, java.time.LocalDateTime.parse(value)); break;
      default: throw new SQLException("unknown parameter type " + type);
    }
  }

  public static void main(String[] args) throws Exception {
    try (Connection c = DriverManager.getConnection(args[0], args[1], "")) {
      DatabaseMetaData m = c.getMetaData();
      run("getDatabaseProductName", m::getDatabaseProductName);
      run("getIdentifierQuoteString", m::getIdentifierQuoteString);
      run("getSQLKeywords", m::getSQLKeywords);
      run("getNumericFunctions", m::getNumericFunctions);
      run("getStringFunctions", m::getStringFunctions);
      run("getSystemFunctions", m::getSystemFunctions);
      run("getTimeDateFunctions", m::getTimeDateFunctions);
      run("getSearchStringEscape", m::getSearchStringEscape);
      run("getMaxColumnNameLength", m::getMaxColumnNameLength);
      run("getMaxTableNameLength", m::getMaxTableNameLength);
      run("getDefaultTransactionIsolation", m::getDefaultTransactionIsolation);
      run("supportsTransactions", m::supportsTransactions);
      run("isReadOnly", m::isReadOnly);
      run("getCatalogs", m::getCatalogs);
      run("getSchemas", m::getSchemas);
      run("getSchemas(pub%)", () -> m.getSchemas(null, "pub%"));
      run("getTableTypes", m::getTableTypes);
      run("getTables(public)", () -> m.getTables(null, "public", "%", new String[]{"TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE", "PARTITIONED TABLE"}));
      run("getTables(any, TABLE)", () -> m.getTables(null, null, "%", new String[]{"TABLE"}));
      run("getTables(order%)", () -> m.getTables(null, "public", "order%", null));
      run("getTypeInfo", m::getTypeInfo);
      run("getClientInfoProperties", m::getClientInfoProperties);
      run("getUDTs", () -> m.getUDTs(null, "public", "%", null));
      run("getFunctions(public)", () -> m.getFunctions(null, "public", "%"));
      run("getProcedures(public)", () -> m.getProcedures(null, "public", "%"));
      run("getFunctions(pg_catalog.upper)", () -> m.getFunctions(null, "pg_catalog", "upper"));
      run("getFunctionColumns(pg_catalog.upper)", () -> m.getFunctionColumns(null, "pg_catalog", "upper", "%"));
      run("getProcedureColumns(pg_catalog.upper)", () -> m.getProcedureColumns(null, "pg_catalog", "upper", "%"));
      for (String e : ENTITIES) {
        run("getColumns(" + e + ")", () -> m.getColumns(null, "public", e, "%"));
        run("getPrimaryKeys(" + e + ")", () -> m.getPrimaryKeys(null, "public", e));
        run("getImportedKeys(" + e + ")", () -> m.getImportedKeys(null, "public", e));
        run("getExportedKeys(" + e + ")", () -> m.getExportedKeys(null, "public", e));
        run("getIndexInfo(" + e + ")", () -> m.getIndexInfo(null, "public", e, false, true));
        run("getIndexInfo(" + e + ", unique)", () -> m.getIndexInfo(null, "public", e, true, false));
        run("getBestRowIdentifier(" + e + ")", () -> m.getBestRowIdentifier(null, "public", e, DatabaseMetaData.bestRowSession, true));
        run("getVersionColumns(" + e + ")", () -> m.getVersionColumns(null, "public", e));
        run("getTablePrivileges(" + e + ")", () -> m.getTablePrivileges(null, "public", e));
        run("getColumnPrivileges(" + e + ")", () -> m.getColumnPrivileges(null, "public", e, "%"));
      }
      run("getCrossReference(customer, order_placed)", () -> m.getCrossReference(null, "public", "customer", null, "public", "order_placed"));
      run("getColumns(%_id)", () -> m.getColumns(null, "public", "%", "%\\_id"));

      prepared(c, "setString", "SELECT customer_id, customer_name, state FROM customer WHERE state = ? ORDER BY customer_id LIMIT 5",
          ps -> ps.setString(1, "CA"));
      prepared(c, "setString NULL", "SELECT count(*) FROM customer WHERE state = ?", ps -> ps.setNull(1, Types.VARCHAR));
      prepared(c, "setInt", "SELECT activity_uuid, activity_occurence FROM order_placed WHERE activity_occurence = ? ORDER BY activity_uuid LIMIT 5",
          ps -> ps.setInt(1, 2));
      prepared(c, "setLong LIMIT", "SELECT customer_id FROM customer ORDER BY customer_id LIMIT ?", ps -> ps.setLong(1, 3L));
      prepared(c, "setDouble", "SELECT count(*) FROM order_placed WHERE order_value > ?", ps -> ps.setDouble(1, 100.5));
      prepared(c, "setBigDecimal", "SELECT count(*) FROM order_placed WHERE order_value > ?", ps -> ps.setBigDecimal(1, new BigDecimal("100.25")));
      prepared(c, "setDate", "SELECT count(*) FROM order_placed WHERE activity_ts >= ?", ps -> ps.setDate(1, Date.valueOf("2026-01-01")));
      prepared(c, "setDate = date", "SELECT count(*) FROM order_placed WHERE CAST(activity_ts AS date) = ?", ps -> ps.setDate(1, Date.valueOf("2026-01-05")));
      prepared(c, "setTimestamp", "SELECT count(*) FROM order_placed WHERE activity_ts >= ?", ps -> ps.setTimestamp(1, Timestamp.valueOf("2026-01-01 12:30:00")));
      prepared(c, "setTimestamp range", "SELECT activity_uuid, activity_ts FROM order_placed WHERE activity_ts BETWEEN ? AND ? ORDER BY activity_uuid LIMIT 5",
          ps -> { ps.setTimestamp(1, Timestamp.valueOf("2025-06-01 00:00:00")); ps.setTimestamp(2, Timestamp.valueOf("2025-06-30 23:59:59")); });
      prepared(c, "setBoolean", "SELECT count(*) FROM customer WHERE (email IS NULL) = ?", ps -> ps.setBoolean(1, true));
      prepared(c, "setObject", "SELECT count(*) FROM order_placed WHERE activity_ts >= ? AND order_value > ?",
          ps -> { ps.setObject(1, java.time.LocalDateTime.of(2026, 1, 1, 0, 0)); ps.setObject(2, 10); });
      prepared(c, "measure", "SELECT entity_id, count(*) AS n FROM order_placed WHERE product_category = ? GROUP BY entity_id HAVING count(*) > ? ORDER BY n DESC, entity_id LIMIT 5",
          ps -> { ps.setString(1, "BOURBON"); ps.setInt(2, 3); });
      // (?::numeric is left out: lens-proxy types it numeric(38,16), corpus class "wrong-value")
      prepared(c, "typed echo", "SELECT ?::int4 + 1 AS i, ?::float8 * 2 AS f, ?::date AS d, ?::timestamp AS ts, ?::text AS t, ?::bool AS b, ?::int8 AS l",
          ps -> { ps.setInt(1, 41); ps.setDouble(2, 1.25); ps.setDate(3, Date.valueOf("2024-02-03"));
                  ps.setTimestamp(4, Timestamp.valueOf("2024-02-03 04:05:06.789")); ps.setString(5, "x"); ps.setBoolean(6, false); ps.setLong(7, 1L << 40); });
      prepared(c, "result types", "SELECT * FROM order_placed ORDER BY activity_uuid LIMIT 3", ps -> {});
      prepared(c, "join", "SELECT c.customer_id, c.state, o.order_id, o.order_value FROM customer c JOIN order_placed o ON o.entity_id = c.customer_id ORDER BY o.activity_uuid LIMIT 3", ps -> {});

      // BI tools' queries (args[2]: one per line, "name<TAB>sql<TAB>type=value…"), as prepared statements
      if (args.length > 2) {
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Paths.get(args[2]))) {
          String[] parts = line.split("\t");
          prepared(c, "bi " + parts[0], parts[1], ps -> {
            for (int i = 2; i < parts.length; i++) bind(ps, i - 1, parts[i]);
          });
        }
      }

      // cursors: without autocommit, a fetch size makes pgJDBC read through a portal, 50 rows per Execute
      c.setAutoCommit(false);
      section("cursor fetchSize 50");
      try (Statement s = c.createStatement()) {
        s.setFetchSize(50);
        try (ResultSet rs = s.executeQuery("SELECT customer_id, state FROM customer ORDER BY customer_id")) { rows(rs); }
      }
      section("cursor prepared fetchSize 7");
      try (PreparedStatement ps = c.prepareStatement("SELECT activity_uuid, order_value FROM order_placed WHERE entity_id = ? ORDER BY activity_uuid")) {
        ps.setFetchSize(7);
        ps.setString(1, "C0000003");
        try (ResultSet rs = ps.executeQuery()) { rows(rs); }
      }
      section("scrollable");
      try (Statement s = c.createStatement(ResultSet.TYPE_SCROLL_INSENSITIVE, ResultSet.CONCUR_READ_ONLY);
           ResultSet rs = s.executeQuery("SELECT customer_id FROM customer ORDER BY customer_id LIMIT 10")) {
        rs.last();
        List<String> seen = new ArrayList<>();
        seen.add(rs.getRow() + ":" + rs.getString(1));
        rs.absolute(3);
        seen.add(rs.getRow() + ":" + rs.getString(1));
        rs.previous();
        seen.add(rs.getRow() + ":" + rs.getString(1));
        System.out.println("value\t" + String.join(",", seen));
      }
      c.commit();
      c.setAutoCommit(true);
      section("error then reuse");
      try (Statement s = c.createStatement()) {
        try { s.executeQuery("SELECT no_such_column FROM customer"); } catch (SQLException e) { System.out.println("error\t" + e.getSQLState()); }
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM customer")) { rows(rs); }
      }
    }
  }
}
