# lens-proxy: a semantic-layer SQL proxy serving lenses over the PostgreSQL wire protocol.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY proxy ./proxy
COPY rewriter ./rewriter
COPY lenses ./lenses
RUN pip install --no-cache-dir .
# Generate the Customer 360 demo data when no data volume provides it, then serve it.
ENV LENS_PROXY_CUSTOMERS=10000
EXPOSE 5433
CMD ["sh", "-c", "test -f /data/icebase.duckdb || lens-proxy generate customer_360 --out /data/icebase.duckdb --customers ${LENS_PROXY_CUSTOMERS}; exec lens-proxy serve --lens /app/lenses/customer_360 --duckdb /data/icebase.duckdb --host 0.0.0.0 --port 5433"]
