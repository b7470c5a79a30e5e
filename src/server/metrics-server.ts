/**
 * `/metrics` on a port of its own (`--metrics-port`), so operators can keep
 * it off the port clients reach: plain HTTP/1.1, a few connections, short
 * time-outs. Scrapers need nothing more.
 */
import http from "node:http";
import type net from "node:net";
import type { MetricsHandler } from "../telemetry/telemetry.ts";

/** Scrapers at once; more connections are refused. */
const MAX_CONNECTIONS = 16;

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

export function startMetricsServer(
  handler: MetricsHandler,
  port: number,
  host: string,
): Promise<MetricsServer> {
  const server = http.createServer(
    { headersTimeout: 5_000, requestTimeout: 10_000, maxHeaderSize: 8 * 1024 },
    (req, res) => {
      if (req.method === "GET" && (req.url ?? "").split("?")[0] === "/metrics") {
        handler(res);
        return;
      }
      res.statusCode = 404;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ error: "not found" }));
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  server.maxRequestsPerSocket = 100;
  server.setTimeout(30_000);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address() as net.AddressInfo;
      const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
      resolve({
        url: `http://${shown}:${address.port}/metrics`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
