# lens-proxy: a semantic-layer SQL proxy serving lenses over the PostgreSQL wire protocol.
# Two images: `spark-connect` (a Spark Connect server from the pyspark package, for docker-compose.yml) and the
# default, lens-proxy itself.

FROM python:3.11-slim AS spark-connect
RUN apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir 'pyspark[connect]>=4,<5'
EXPOSE 15002
CMD ["sh", "-c", "exec spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer --master 'local[*]' --conf spark.connect.grpc.binding.port=15002 --conf spark.sql.session.timeZone=UTC --conf spark.ui.enabled=false --conf spark.sql.warehouse.dir=/data/spark-warehouse --conf spark.driver.extraJavaOptions=-Dderby.system.home=/data/spark-metastore"]

FROM python:3.11-slim AS lens-proxy
WORKDIR /app
COPY pyproject.toml README.md lens-proxy.yaml ./
COPY proxy ./proxy
COPY rewriter ./rewriter
COPY lenses ./lenses
COPY docker ./docker
RUN pip install --no-cache-dir '.[postgres,spark]'
# Generate the Customer 360 demo lakehouse when no data volume provides it, then serve it.
ENV LENS_PROXY_CUSTOMERS=10000
EXPOSE 5433
CMD ["sh", "-c", "test -f /data/warehouse/catalog.db || lens-proxy generate customer_360 --format iceberg --out /data/warehouse --customers ${LENS_PROXY_CUSTOMERS}; exec lens-proxy serve --config /app/docker/lakehouse.yaml --host 0.0.0.0 --port 5433"]
