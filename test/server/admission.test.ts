/**
 * Admission and body budgets on real sockets: who makes room when a limit is
 * reached, what closes idle and silent connections, and what a body may hold.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, suite, test } from "node:test";
import {
  type AdmissionLimits,
  type Connection,
  type ConnectionRegistry,
  createConnectionRegistry,
} from "../../src/server/connections.ts";
import {
  createBodyBudget,
  GUARANTEED_BYTES_PER_CONNECTION,
  guardBody,
} from "../../src/server/request-body.ts";

const LIMITS: AdmissionLimits = {
  maxConnections: 4,
  maxConnectionsPerAddress: 3,
  idleTimeoutMs: 300,
  headerTimeoutMs: 200,
  minBodyBytesPerWindow: 0,
  maxCallsInFlight: 100,
  maxStreamingCalls: 4,
  maxPendingAnswerBytes: 100_000,
  answerStallMs: 200,
};

/** A loopback server whose accepted sockets go through `registry`; resolves each admission. */
async function listen(registry: () => ConnectionRegistry) {
  const admitted: (Connection | undefined)[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
    admitted.push(registry().admit(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  /** Connects and resolves with the client socket and its admission, once the server has it. */
  const connect = async (localAddress = "127.0.0.1") => {
    const count = admitted.length;
    const socket = net.connect({ port, host: "127.0.0.1", localAddress });
    sockets.push(socket);
    socket.on("error", () => undefined);
    while (admitted.length === count) await new Promise((resolve) => setTimeout(resolve, 2));
    return { socket, connection: admitted.at(-1) };
  };
  const close = () => {
    for (const socket of sockets) socket.destroy();
    server.close();
  };
  return { close, connect };
}

const closed = (socket: net.Socket) =>
  socket.destroyed || socket.readyState === "closed"
    ? Promise.resolve()
    : new Promise<void>((resolve) => socket.once("close", () => resolve()));

void suite("admission", () => {
  let registry: ConnectionRegistry;
  let clock = 0;
  let close: () => void;
  let connect: Awaited<ReturnType<typeof listen>>["connect"];
  before(async () => {
    ({ close, connect } = await listen(() => registry));
  });
  after(() => {
    registry.close();
    close();
  });

  const fresh = (sweepMs = 60_000) => {
    registry?.close();
    registry = createConnectionRegistry(LIMITS, () => clock, sweepMs);
  };

  void test("at the per-address limit, a connection that never started a call makes room first", async () => {
    fresh();
    const served = await connect();
    registry.startCall(served.connection!)(); // served once, idle since
    clock += 100;
    const silent = await connect();
    const justOpened = await connect();
    clock += 1_000;
    registry.startCall(justOpened.connection!)();
    assert.equal(registry.size, 3);
    const newcomer = await connect();
    assert.ok(newcomer.connection, "the newcomer is admitted");
    await closed(silent.socket);
    assert.equal(served.socket.destroyed, false, "the connection that was served stays");
    assert.equal(registry.size, 3);
  });

  void test("a connection holding only streaming calls makes room, and a just-opened one when none else can", async () => {
    fresh();
    const streaming = await connect();
    registry.startCall(streaming.connection!);
    assert.ok(registry.startStreamingCall(streaming.connection!, () => undefined));
    const busy = [await connect(), await connect()];
    for (const b of busy) registry.startCall(b.connection!);
    const newcomer = await connect(); // at the limit: the streaming-only connection makes room
    await closed(streaming.socket);
    assert.ok(newcomer.connection);
    // With none other left to close, a just-opened connection makes room after all.
    const another = await connect();
    assert.ok(another.connection);
    await closed(newcomer.socket);
  });

  void test("at the total limit, the address holding the most connections makes room", async () => {
    fresh();
    const mine = await connect("127.0.0.1");
    registry.startCall(mine.connection!)(); // served once: idle
    clock += 2_000; // mine is the oldest of all
    const theirs = [
      await connect("127.0.0.2"),
      await connect("127.0.0.2"),
      await connect("127.0.0.2"),
    ];
    clock += 2_000;
    const newcomer = await connect("127.0.0.3");
    assert.ok(newcomer.connection);
    await closed(theirs[0]!.socket);
    assert.equal(mine.socket.destroyed, false, "the lighter address keeps its connection");
  });

  void test("past the streaming limit, the connection holding the most gives up its oldest", async () => {
    fresh();
    const heavy = await connect();
    const light = await connect();
    const cancelled: number[] = [];
    for (let i = 0; i < 4; i++) {
      assert.ok(registry.startStreamingCall(heavy.connection!, () => cancelled.push(i)));
    }
    assert.ok(
      registry.startStreamingCall(light.connection!, () => undefined),
      "made room",
    );
    assert.deepEqual(cancelled, [0]);
    assert.ok(registry.startStreamingCall(light.connection!, () => undefined));
    assert.deepEqual(cancelled, [0, 1]);
    // Now 2 and 2: the light connection is as heavy as any, and is refused.
    assert.equal(
      registry.startStreamingCall(light.connection!, () => undefined),
      undefined,
    );
  });

  void test("answers that stall are cut off when answers hold too much, not those that move", async () => {
    fresh();
    const cut: string[] = [];
    let moving = 0;
    const a = registry.watchAnswer(
      () => 60_000,
      () => cut.push("stalled"),
    );
    const b = registry.watchAnswer(
      () => moving,
      () => cut.push("moving"),
    );
    assert.ok(a.writing(60_000), "one answer always goes");
    moving = 30_000;
    assert.equal(
      b.writing(60_000),
      false,
      "over the budget, and nothing has stood still long enough",
    );
    clock += 300;
    moving = 20_000; // b's client reads; a's does not
    const c = registry.watchAnswer(
      () => 0,
      () => cut.push("new"),
    );
    assert.ok(c.writing(30_000), "room made by cutting off the answer that stood still");
    assert.deepEqual(cut, ["stalled"]);
    for (const watch of [b, c]) watch.stop();
  });

  void test("with none that never called, the one idle longest makes room; with all busy, the newcomer is refused", async () => {
    fresh();
    const connections = [await connect(), await connect(), await connect()];
    const ends = connections.map((c) => registry.startCall(c.connection!));
    clock += 10;
    ends[1]!(); // idle since 10
    clock += 10;
    ends[0]!(); // idle since 20
    const newcomer = await connect();
    assert.ok(newcomer.connection);
    await closed(connections[1]!.socket);
    const busy = registry.startCall(newcomer.connection!);
    registry.startCall(connections[0]!.connection!);
    const refused = await connect();
    assert.equal(refused.connection, undefined, "every connection is busy");
    await closed(refused.socket);
    busy();
  });

  void test("connections that never call, or stop calling, are closed by the sweep; calls in flight keep theirs", async () => {
    fresh(20);
    const silent = await connect();
    const idle = await connect();
    registry.startCall(idle.connection!)();
    const busy = await connect();
    registry.startCall(busy.connection!);
    clock += LIMITS.headerTimeoutMs;
    await closed(silent.socket);
    assert.equal(idle.socket.destroyed, false, "called within the idle time-out");
    clock += LIMITS.idleTimeoutMs;
    await closed(idle.socket);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(busy.socket.destroyed, false, "a call in flight keeps its connection");
    registry.close();
  });
});

void suite("body budget", () => {
  const connection = (): Connection => ({ address: "a", callsInFlight: 1, bodyBytesHeld: 0 });

  void test("a connection may always hold its guaranteed share, and no more than its own share beyond", () => {
    const budget = createBodyBudget(100_000, 40_000);
    const hog = connection();
    assert.ok(budget.tryTake(hog, 30_000));
    assert.ok(budget.tryTake(hog, 10_000));
    assert.equal(budget.tryTake(hog, 1), false, "past its share");
    const other = connection();
    assert.ok(budget.tryTake(other, 60_000), "another connection takes the rest");
    assert.equal(budget.tryTake(other, GUARANTEED_BYTES_PER_CONNECTION), false, "all spent");
    const small = connection();
    assert.ok(budget.tryTake(small, GUARANTEED_BYTES_PER_CONNECTION), "the guaranteed share");
    assert.equal(budget.tryTake(small, 1), false);
    budget.give(hog, 40_000);
    assert.ok(budget.tryTake(small, 1));
    assert.equal(budget.heldBytes, 60_000 + GUARANTEED_BYTES_PER_CONNECTION + 1);
  });

  void test("a guarded body takes its bytes as they are read, gives them back, and fails past the budget", async () => {
    const budget = createBodyBudget(10, 10);
    async function* chunks() {
      yield new Uint8Array(6);
      yield new Uint8Array(6);
    }
    const body = guardBody(chunks(), {
      budget,
      connection: undefined,
      watch: undefined,
      errorFor: (reason) => new Error(reason),
    });
    const read: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of body) read.push(chunk.length);
      })(),
      /budget/,
    );
    assert.deepEqual(read, [6]);
    assert.equal(body.refusal, "budget");
    assert.equal(budget.heldBytes, 6);
    body.release();
    assert.equal(budget.heldBytes, 0);
  });

  void test("a body refused before it is read reads nothing", async () => {
    let pulled = false;
    async function* chunks() {
      pulled = true;
      yield new Uint8Array(1);
    }
    const body = guardBody(chunks(), {
      budget: createBodyBudget(10, 10),
      connection: undefined,
      watch: undefined,
      errorFor: (reason) => new Error(reason),
    });
    body.refuse("refused");
    await assert.rejects(body[Symbol.asyncIterator]().next(), /refused/);
    assert.equal(pulled, false);
  });
});
