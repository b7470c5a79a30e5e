/**
 * Admission: which connections the port keeps, and for how long.
 *
 * Every accepted connection is registered here before a byte is read. The
 * limits hold in total and per client address; at either, a connection
 * without a call in flight (or with streaming calls only) is closed to make
 * room — of the address with the most connections, silent ones first (see
 * `evictable`) — and only when none can go is the new one refused. So one
 * client cannot lock the others out by opening connections and sitting on
 * them, and a client that is really served keeps its connections.
 *
 * What counts as activity is a call, not traffic: a connection with no call
 * in flight is idle however many PINGs or stray bytes it sends, and is closed
 * after `idleTimeoutMs`; a connection that has not started a call within
 * `headerTimeoutMs` of opening is closed too. Request bodies must keep up a
 * minimum rate while a call waits for them (see {@link BodyProgress}).
 */
import type http from "node:http";
import type http2 from "node:http2";
import type net from "node:net";

export interface AdmissionLimits {
  /** Open connections at once. */
  maxConnections: number;
  /** Open connections at once from one client address. */
  maxConnectionsPerAddress: number;
  /** How long a connection may stay without a call in flight. */
  idleTimeoutMs: number;
  /** How long a new connection may take to start its first call. */
  headerTimeoutMs: number;
  /** The least a request body must bring in each {@link BODY_RATE_WINDOW_MS} while a call waits for it. */
  minBodyBytesPerWindow: number;
  /** Calls in flight at once, of every kind; past it, new calls are refused at once. */
  maxCallsInFlight: number;
  /** Streaming calls (subscriptions, health watches, reflection) open at once, in total. */
  maxStreamingCalls: number;
  /**
   * Bytes of answers written but not yet taken by their clients, in total.
   * Past it, the answers that have stopped moving are cut off, largest first.
   */
  maxPendingAnswerBytes: number;
  /** How long an answer may wait for its client to read any of it before it is cut off. */
  answerStallMs: number;
}

/** The window over which a body's rate is judged; a body may pause for less than this. */
export const BODY_RATE_WINDOW_MS = 5_000;
/** Answers this small are written whatever the unread ones hold. */
const SMALL_ANSWER_BYTES = 16 * 1024;
/** How long a new connection is the last to be closed to make room. */
const NEW_CONNECTION_GRACE_MS = 1_000;
/** How often idle connections and slow bodies are looked for, by default. */
const SWEEP_INTERVAL_MS = 1_000;

/** One accepted connection, as admission sees it. */
export interface Connection {
  /** The client's address (IPv4-mapped IPv6 addresses as IPv4). */
  readonly address: string;
  /** Calls being served on it now. */
  readonly callsInFlight: number;
  /** Bytes of request bodies read on it and still held. */
  bodyBytesHeld: number;
}

export interface AnswerWatch {
  /**
   * Counts `bytes` about to be written. When answers would hold more than
   * their budget, the stalled ones are cut off first; false when that is not
   * enough (the caller should not write).
   */
  writing(bytes: number): boolean;
  /** Stops watching (the answer is done). */
  stop(): void;
}

/** A request body being read, for the minimum-rate check. */
export interface BodyProgress {
  /** Counts bytes as they arrive. */
  received(bytes: number): void;
  /** The body is complete (or no longer read): the rate no longer matters. */
  done(): void;
}

export interface ConnectionRegistry {
  /**
   * Registers a connection just accepted, making room for it if a limit is
   * reached, or refuses it (destroys the socket and returns undefined).
   */
  admit(socket: net.Socket): Connection | undefined;
  /** Ties an HTTP/2 session to the connection it runs on. */
  attachSession(session: http2.ServerHttp2Session): void;
  /** The connection a request came on. */
  of(req: http.IncomingMessage | http2.Http2ServerRequest): Connection | undefined;
  /** A call starts on a connection; the returned function ends it. */
  startCall(connection: Connection): () => void;
  /** Whether as many calls are in flight as `maxCallsInFlight` allows. */
  atCallLimit(): boolean;
  /**
   * A streaming call starts on a connection (within a call started with
   * {@link startCall}). At the limit, the connection holding the most
   * streaming calls gives up its oldest (`cancel` is called for it) if it
   * holds more than this one; otherwise the call is refused (undefined).
   * The returned function ends it.
   */
  startStreamingCall(connection: Connection, cancel: () => void): (() => void) | undefined;
  /** Watches a body's rate; `tooSlow` is called once if it falls below the minimum. */
  watchBody(tooSlow: () => void): BodyProgress;
  /**
   * Watches an answer's bytes waiting for the client (`pending`); `cancel` is
   * called if it stalls too long, or stalls while answers hold too much.
   */
  watchAnswer(pending: () => number, cancel: () => void): AnswerWatch;
  /**
   * Whether answers have room for another large one (after cutting off the
   * stalled, if they do not): a read checks before it builds its answer.
   */
  answersHaveRoom(): boolean;
  /** Open connections. */
  readonly size: number;
  /** Stops the periodic checks. */
  close(): void;
}

interface ConnectionState extends Connection {
  readonly socket: net.Socket;
  readonly peer: string;
  session: http2.ServerHttp2Session | undefined;
  callsInFlight: number;
  /** Its streaming calls, oldest first, by how to cancel each. */
  readonly streaming: Set<() => void>;
  callsStarted: number;
  readonly openedAtMs: number;
  /** When the last call ended (or the connection opened). */
  idleSinceMs: number;
}

interface AnswerState {
  readonly pending: () => number;
  readonly cancel: () => void;
  /** The bytes pending at the last sweep, and since when they have not gone down. */
  lastPending: number;
  stalledSinceMs: number | undefined;
}

interface BodyState {
  bytes: number;
  windowStartBytes: number;
  windowStartMs: number;
  readonly tooSlow: () => void;
}

const peerOf = (socket: net.Socket) => `${socket.remoteAddress} ${socket.remotePort}`;

/** `::ffff:127.0.0.1` and `127.0.0.1` are one client. */
const clientAddress = (socket: net.Socket) =>
  (socket.remoteAddress ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");

export function createConnectionRegistry(
  limits: AdmissionLimits,
  now: () => number = Date.now,
  sweepIntervalMs = SWEEP_INTERVAL_MS,
): ConnectionRegistry {
  const bySocket = new Map<net.Socket, ConnectionState>();
  /**
   * By the connection's remote address and port, for the sockets layered on
   * an admitted one (a TLS socket over the TCP one; an HTTP/2 session's).
   */
  const byPeer = new Map<string, ConnectionState>();
  const layered = new WeakMap<object, ConnectionState>();
  const bySession = new WeakMap<http2.ServerHttp2Session, ConnectionState>();
  const perAddress = new Map<string, number>();
  const bodies = new Set<BodyState>();
  const answers = new Set<AnswerState>();
  let streamingCalls = 0;
  let callsInFlight = 0;

  function close(state: ConnectionState): void {
    if (state.session !== undefined && !state.session.destroyed) {
      state.session.destroy(); // GOAWAY, then the socket closes
    } else {
      state.socket.destroy();
    }
  }

  /**
   * The connection to close to make room for a newcomer from `address`. At
   * the per-address limit, one of that address's; at the total limit, one of
   * the address holding the most connections, so that clients on other hosts
   * keep theirs. Within an address, by rank, oldest first:
   * 0. never used, for more than a moment (a flood of silent connections);
   * 1. never used, just opened (the flood's newest);
   * 2. holding streaming calls only (they subscribe again);
   * 3. idle after serving calls (a client that is served keeps its connection
   *    longest).
   */
  function evictable(address: string, atAddressLimit: boolean): ConnectionState | undefined {
    let from = address;
    if (!atAddressLimit) {
      let most = 0;
      for (const [other, count] of perAddress) {
        if (count > most) {
          most = count;
          from = other;
        }
      }
    }
    const nowMs = now();
    const rank = (state: ConnectionState) =>
      state.callsStarted === 0
        ? nowMs - state.openedAtMs >= NEW_CONNECTION_GRACE_MS
          ? 0
          : 1
        : state.callsInFlight === 0
          ? 3
          : 2;
    let found: ConnectionState | undefined;
    for (const state of bySocket.values()) {
      if (state.address !== from || state.callsInFlight > state.streaming.size) continue;
      if (
        found === undefined ||
        rank(state) < rank(found) ||
        (rank(state) === rank(found) && state.idleSinceMs < found.idleSinceMs)
      ) {
        found = state;
      }
    }
    return found;
  }

  /** The connection a socket is, or is layered on. */
  function stateOf(socket: net.Socket): ConnectionState | undefined {
    const found = bySocket.get(socket) ?? layered.get(socket);
    if (found !== undefined) return found;
    const state = byPeer.get(peerOf(socket));
    if (state !== undefined) layered.set(socket, state);
    return state;
  }

  function forget(state: ConnectionState): void {
    if (bySocket.get(state.socket) !== state) return;
    streamingCalls -= state.streaming.size;
    state.streaming.clear();
    if (state.session !== undefined) bySession.delete(state.session);
    state.session = undefined;
    bySocket.delete(state.socket);
    if (byPeer.get(state.peer) === state) byPeer.delete(state.peer);
    const count = (perAddress.get(state.address) ?? 1) - 1;
    if (count === 0) perAddress.delete(state.address);
    else perAddress.set(state.address, count);
  }

  function sweep(): void {
    const nowMs = now();
    for (const state of bySocket.values()) {
      if (state.callsInFlight > 0) continue;
      const neverUsed = state.callsStarted === 0;
      const limitMs = neverUsed ? limits.headerTimeoutMs : limits.idleTimeoutMs;
      const sinceMs = neverUsed ? state.openedAtMs : state.idleSinceMs;
      if (nowMs - sinceMs >= limitMs) close(state);
    }
    for (const body of bodies) {
      if (nowMs - body.windowStartMs < BODY_RATE_WINDOW_MS) continue;
      if (body.bytes - body.windowStartBytes < limits.minBodyBytesPerWindow) {
        bodies.delete(body);
        body.tooSlow();
      } else {
        body.windowStartBytes = body.bytes;
        body.windowStartMs = nowMs;
      }
    }
  }
  /** Cuts off answers their clients do not read: stalled too long, or stalled while answers hold too much. */
  /** Answers' pending bytes as last measured, plus what was written since. */
  let pendingEstimate = 0;
  /** How long an answer must have stood still to be cut off for the budget's sake. */
  const STALLED_FOR_BUDGET_MS = 250;

  /** `incoming`: bytes about to be written, which the budget must also hold. */
  function sweepAnswers(nowMs: number, incoming = 0): void {
    let total = 0;
    const stalled: { answer: AnswerState; pending: number }[] = [];
    for (const answer of answers) {
      const pending = answer.pending();
      total += pending;
      if (pending > 0 && pending >= answer.lastPending) {
        answer.stalledSinceMs ??= nowMs;
        stalled.push({ answer, pending });
      } else {
        answer.stalledSinceMs = undefined;
      }
      answer.lastPending = pending;
    }
    stalled.sort((a, b) => b.pending - a.pending);
    for (const { answer, pending } of stalled) {
      const stalledMs = nowMs - answer.stalledSinceMs!;
      const tooLong = stalledMs >= limits.answerStallMs;
      const overBudget =
        total + incoming > limits.maxPendingAnswerBytes && stalledMs >= STALLED_FOR_BUDGET_MS;
      if (!tooLong && !overBudget) continue;
      answers.delete(answer);
      total -= pending;
      answer.cancel();
    }
    pendingEstimate = total;
  }

  const timer = setInterval(() => {
    sweep();
    sweepAnswers(now());
  }, sweepIntervalMs);
  timer.unref();

  return {
    admit(socket) {
      const address = clientAddress(socket);
      const atAddressLimit = (perAddress.get(address) ?? 0) >= limits.maxConnectionsPerAddress;
      const atTotalLimit = bySocket.size >= limits.maxConnections;
      if (atAddressLimit || atTotalLimit) {
        const evicted = evictable(address, atAddressLimit);
        if (evicted === undefined) {
          socket.destroy();
          return undefined;
        }
        close(evicted);
        forget(evicted);
      }
      const nowMs = now();
      const state: ConnectionState = {
        socket,
        peer: peerOf(socket),
        session: undefined,
        address,
        callsInFlight: 0,
        callsStarted: 0,
        streaming: new Set(),
        bodyBytesHeld: 0,
        openedAtMs: nowMs,
        idleSinceMs: nowMs,
      };
      bySocket.set(socket, state);
      byPeer.set(state.peer, state);
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
      socket.once("close", () => forget(state));
      return state;
    },
    attachSession(session) {
      const state = stateOf(session.socket);
      if (state === undefined) return;
      state.session = session;
      bySession.set(session, state);
    },
    of(req) {
      if ("stream" in req) return bySession.get(req.stream.session as http2.ServerHttp2Session);
      return stateOf(req.socket);
    },
    startCall(connection) {
      const state = connection as ConnectionState;
      state.callsInFlight++;
      state.callsStarted++;
      callsInFlight++;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        callsInFlight--;
        state.callsInFlight--;
        state.idleSinceMs = now();
      };
    },
    atCallLimit() {
      return callsInFlight >= limits.maxCallsInFlight;
    },
    startStreamingCall(connection, cancel) {
      const state = connection as ConnectionState;
      if (streamingCalls >= limits.maxStreamingCalls) {
        let heaviest: ConnectionState | undefined;
        for (const other of bySocket.values()) {
          if (heaviest === undefined || other.streaming.size > heaviest.streaming.size) {
            heaviest = other;
          }
        }
        if (heaviest === undefined || heaviest.streaming.size <= state.streaming.size + 1) {
          return undefined;
        }
        const oldest = heaviest.streaming.values().next().value!;
        heaviest.streaming.delete(oldest);
        streamingCalls--;
        oldest();
      }
      state.streaming.add(cancel);
      streamingCalls++;
      return () => {
        if (state.streaming.delete(cancel)) streamingCalls--;
      };
    },
    watchAnswer(pending, cancel) {
      const answer: AnswerState = { pending, cancel, lastPending: 0, stalledSinceMs: undefined };
      answers.add(answer);
      return {
        writing(bytes) {
          pendingEstimate += bytes;
          // Small answers always go: the budget is for the large ones.
          if (pendingEstimate <= limits.maxPendingAnswerBytes || bytes <= SMALL_ANSWER_BYTES) {
            return true;
          }
          sweepAnswers(now(), bytes);
          if (!answers.has(answer)) return false; // cut off itself
          // With nothing pending, any answer goes: one answer never waits on others.
          const fits = pendingEstimate + bytes <= limits.maxPendingAnswerBytes;
          if (!fits && pendingEstimate > 0) return false;
          pendingEstimate += bytes;
          return true;
        },
        stop() {
          answers.delete(answer);
        },
      };
    },
    answersHaveRoom() {
      if (pendingEstimate < limits.maxPendingAnswerBytes) return true;
      sweepAnswers(now());
      return pendingEstimate < limits.maxPendingAnswerBytes;
    },
    watchBody(tooSlow) {
      const body: BodyState = { bytes: 0, windowStartBytes: 0, windowStartMs: now(), tooSlow };
      bodies.add(body);
      return {
        received(bytes) {
          body.bytes += bytes;
        },
        done() {
          bodies.delete(body);
        },
      };
    },
    get size() {
      return bySocket.size;
    },
    close() {
      clearInterval(timer);
    },
  };
}
