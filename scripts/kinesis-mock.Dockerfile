# kinesis-mock's engine from the `kinesis-local` npm package (the same release
# compiled to JavaScript), packaged like kinesis-mock's own image
# (ghcr.io/etspaceman/kinesis-mock): plain HTTP on 4568, TLS on 4567, the same
# environment variables, GET /healthcheck. It stands in for that image where no
# registry gives it. Built by scripts/kinesis-mock-image.sh, with
# node_modules/kinesis-local as the context.
ARG BASE=node:24-slim
FROM ${BASE}
WORKDIR /opt/kinesis-mock
# server.json (the TLS certificate) is read from the working directory.
COPY main.js server.json package.json LICENSE ./
ENV KINESIS_MOCK_TLS_PORT=4567 KINESIS_MOCK_PLAIN_PORT=4568
EXPOSE 4567 4568
USER node
CMD ["node", "main.js"]
