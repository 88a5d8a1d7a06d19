// DatabaseMetaData calls DBeaver and Tableau make through pgjdbc; run by tests/proxy/catalog/test_jdbc.py.
import java.sql.*;
public class Meta {
  static int drain(ResultSet rs) throws SQLException { int n = 0; while (rs.next()) n++; rs.close(); return n; }
  public static void main(String[] a) throws Exception {
    try (Connection c = DriverManager.getConnection(a[0], "analyst", "")) {
      DatabaseMetaData m = c.getMetaData();
      System.out.println(m.getDatabaseProductName() + " " + m.getDatabaseProductVersion());
      System.out.println("catalogs " + drain(m.getCatalogs()));
      System.out.println("schemas " + drain(m.getSchemas()));
      System.out.println("schemas2 " + drain(m.getSchemas(null, "pub%")));
      System.out.println("tabletypes " + drain(m.getTableTypes()));
      System.out.println("tables " + drain(m.getTables(null, "public", "%", new String[]{"TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE", "PARTITIONED TABLE"})));
      System.out.println("tablesall " + drain(m.getTables(null, null, "%", null)));
      System.out.println("columns " + drain(m.getColumns(null, "public", "customer", "%")));
      System.out.println("pk " + drain(m.getPrimaryKeys(null, "public", "customer")));
      System.out.println("imported " + drain(m.getImportedKeys(null, "public", "order_placed")));
      System.out.println("exported " + drain(m.getExportedKeys(null, "public", "customer")));
      System.out.println("index " + drain(m.getIndexInfo(null, "public", "customer", false, true)));
      System.out.println("typeinfo " + drain(m.getTypeInfo()));
      System.out.println("functions " + drain(m.getFunctions(null, "public", "%")));
      System.out.println("procedures " + drain(m.getProcedures(null, "public", "%")));
      System.out.println("keywords " + m.getSQLKeywords().length());
      System.out.println("udts " + drain(m.getUDTs(null, "public", "%", null)));
      System.out.println("privs " + drain(m.getTablePrivileges(null, "public", "customer")));
      System.out.println("bestrow " + drain(m.getBestRowIdentifier(null, "public", "customer", DatabaseMetaData.bestRowSession, true)));
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT customer_id, email FROM customer LIMIT 3")) {
        ResultSetMetaData md = rs.getMetaData();
        System.out.println("rsmd " + md.getColumnTypeName(1) + " " + md.getColumnTypeName(2) + " " + md.getTableName(1) + " " + md.isNullable(1));
        System.out.println("rows " + drain(rs));
      }
    }
  }
}
