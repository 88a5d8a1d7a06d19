"""lens-proxy: serves lenses as PostgreSQL databases over the v3 wire protocol, executing on DuckDB."""
