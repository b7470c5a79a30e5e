/**
 * A data dir: where a durable engine keeps everything.
 *
 *     state.json          the engine's state besides records (`snapshot.ts`), replaced atomically
 *     streams/<key>/      one stream's log: segment files and high-water.json (`disk-record-store.ts`)
 *     lock                the pid and place (host, pid namespace) of the process using the dir
 *     clean               present only after a clean shutdown
 *
 * It also runs the group commit: stores ask for a commit when they get
 * records; one commit at a time flushes every store that asked and syncs
 * them together, and the calls that arrive meanwhile share the next one.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { RecordStoreOptions } from "../record-store.ts";
import { type EngineSnapshot, SNAPSHOT_VERSION } from "../snapshot.ts";
import {
  type DiskRecordStore,
  openDiskRecordStore,
  type StorageProblem,
} from "./disk-record-store.ts";
import { readJsonFile, syncDirectory, writeAtomically } from "./files.ts";
import { createScratch } from "./segment-io.ts";

/** What a durable engine needs of its storage (`EngineOptions.storage`). */
export interface EngineStorage {
  /** Whether writes are fdatasynced before they are acknowledged. */
  readonly fsync: boolean;
  /** Whether the process that used the dir before shut down cleanly (every write flushed and synced). */
  readonly cleanStart: boolean;
  /** The state saved last, or undefined for a new dir. */
  loadState(): EngineSnapshot | undefined;
  /** Replaces the saved state atomically; throws when it cannot (the disk is full). */
  saveState(state: EngineSnapshot): void;
  /** The record store of a stream (by `streamKey`): the open one, or the one on disk, or a new one. */
  openStore(key: string, options: RecordStoreOptions): DiskRecordStore;
  /** Closes and deletes the stores of streams the state no longer has. */
  keepOnly(keys: ReadonlySet<string>): void;
  /** Why writes fail now (the disk is full), or undefined when they do not. */
  readonly writeError: Error | undefined;
  /** Flushes and syncs every store, marks the shutdown clean and lets go of the dir. */
  close(): void;
}

export interface DataDirOptions {
  readonly path: string;
  readonly fsync: boolean;
  /** Told what opening a store found wrong, or a read found corrupt, with the stream's key. */
  readonly onProblem?: ((stream: string, problem: StorageProblem) => void) | undefined;
  /** Told when writes start failing and when they work again. */
  readonly onWriteHealth?: ((error: Error | undefined) => void) | undefined;
  /**
   * Told once when another process has taken the dir's lock over (this one was
   * frozen past `LOCK_STALE_MS`): from then on every write is refused.
   */
  readonly onLockLost?: ((holder: string) => void) | undefined;
  /** How often every stream's expired segment files are deleted, written to or not. Default: a minute. */
  readonly sweepMs?: number | undefined;
}

/** The directory of a stream incarnation in the data dir: names are `[a-zA-Z0-9_.-]+`, safe as file names. */
export function streamKey(name: string, incarnationSeconds: number): string {
  return `${incarnationSeconds}-${name}`;
}

const STATE_FILE = "state.json";
const LOCK_FILE = "lock";
const CLEAN_FILE = "clean";
const STREAMS_DIR = "streams";

export function openDataDir(options: DataDirOptions): EngineStorage {
  const { path, fsync } = options;
  const streamsDir = join(path, STREAMS_DIR);
  mkdirSync(streamsDir, { recursive: true });
  // Told by the lock's refresher, which checks every second even when nothing is written.
  let lockLost: Error | undefined;
  const lock = takeLock(path, (holder, error) => {
    lockLost = error;
    options.onWriteHealth?.(error);
    options.onLockLost?.(holder);
  });
  const cleanStart = existsSync(join(path, CLEAN_FILE));
  // From here on a crash is an unclean shutdown, until `close` says otherwise.
  rmSync(join(path, CLEAN_FILE), { force: true });
  syncDirectory(path);

  const stores = new Map<string, DiskRecordStore>();
  const failing = new Set<DiskRecordStore>();
  let writeError: Error | undefined;

  const committer = createCommitter();
  // One buffer for every stream's flushes and scans: each runs start to end without yielding.
  const scratch = createScratch();
  // Writes and reads trim their stream; a stream nobody touches is trimmed here.
  const sweeper = setInterval(() => {
    for (const store of stores.values()) {
      try {
        store.trimExpired();
      } catch {
        // Files that cannot go now (a read-only remount) are tried again at the next sweep.
      }
    }
  }, options.sweepMs ?? 60_000);
  sweeper.unref();

  function noteWriteHealth(store: DiskRecordStore, error: Error | undefined): void {
    const wasFailing = failing.size > 0;
    if (error === undefined) failing.delete(store);
    else failing.add(store);
    writeError = error ?? (failing.size > 0 ? writeError : undefined);
    if (wasFailing !== failing.size > 0) options.onWriteHealth?.(writeError);
  }

  return {
    fsync,
    cleanStart,

    loadState() {
      const file = join(path, STATE_FILE);
      if (!existsSync(file)) {
        // Starting empty would delete them (`keepOnly`): what they belong to is not known.
        const kept = readdirSync(streamsDir).length;
        if (kept > 0) {
          throw new Error(
            `${file} is missing, but ${streamsDir} holds the files of ${kept} stream(s): ` +
              `restore ${STATE_FILE}, or move ${streamsDir} away to start empty`,
          );
        }
        return undefined;
      }
      const state = readJsonFile(file) as EngineSnapshot | null;
      if (state?.version === SNAPSHOT_VERSION && !Array.isArray(state.streams)) {
        throw new Error(
          `${file} is damaged (it has no list of streams); the data dir cannot be opened`,
        );
      }
      if (state?.version !== SNAPSHOT_VERSION) {
        throw new Error(
          `${file} has version ${String(state?.version)}; this gateway reads version ${SNAPSHOT_VERSION}`,
        );
      }
      return state;
    },

    saveState(state) {
      writeAtomically(join(path, STATE_FILE), JSON.stringify(state), fsync);
    },

    openStore(key, storeOptions) {
      let store = stores.get(key);
      // A store the engine cleared (its stream removed) comes back from its files, which stay until `keepOnly`.
      if (store === undefined || store.closed) {
        const opened: DiskRecordStore = openDiskRecordStore({
          ...storeOptions,
          scratch,
          dir: join(streamsDir, key),
          fsync,
          requestCommit: committer.request,
          onProblem: (problem) => options.onProblem?.(key, problem),
          onWriteHealth: (error) => noteWriteHealth(opened, error),
          writeRefusal: lock.refusal,
        });
        store = opened;
        stores.set(key, store);
      }
      return store;
    },

    keepOnly(keys) {
      for (const [key, store] of stores) {
        if (!keys.has(key)) {
          store.clear();
          stores.delete(key);
          noteWriteHealth(store, undefined);
        }
      }
      for (const name of readdirSync(streamsDir)) {
        if (keys.has(name)) continue;
        try {
          rmSync(join(streamsDir, name), { recursive: true, force: true });
        } catch {
          // The state without it is saved: the next change or start deletes what is left.
        }
      }
    },

    get writeError() {
      return lockLost ?? writeError;
    },

    close() {
      clearInterval(sweeper);
      let clean = true;
      for (const store of stores.values()) clean = store.close() && clean;
      stores.clear();
      // The dir is another process's now: neither its clean mark nor its lock is ours to touch.
      if (lock.refusal() !== undefined) {
        lock.release();
        return;
      }
      // Unclean unless all is stored: the next start moves every shard's numbers on.
      if (clean) writeAtomically(join(path, CLEAN_FILE), "", fsync);
      lock.release();
      rmSync(join(path, LOCK_FILE), { force: true });
    },
  };
}

/** The group commit: one flush-and-sync of every store that asked, at a time. */
function createCommitter() {
  const asked = new Set<DiskRecordStore>();
  let running = false;
  let scheduled = false;

  function schedule(): void {
    if (running || scheduled) return;
    scheduled = true;
    // After the I/O callbacks of this turn: every call they carried joins the commit.
    setImmediate(run);
  }

  async function run(): Promise<void> {
    scheduled = false;
    running = true;
    const batch = [...asked];
    asked.clear();
    // Each commit flushes at once (all writes first), then the syncs run side by side.
    await Promise.allSettled(batch.map((store) => store.commit()));
    running = false;
    if (asked.size > 0) schedule();
  }

  return {
    request(store: DiskRecordStore): void {
      asked.add(store);
      schedule();
    },
  };
}

/** How often the holder of a lock touches it, and how long untouched it is taken for abandoned. */
const LOCK_REFRESH_MS = 1_000;
const LOCK_STALE_MS = 5_000;

/**
 * Where this process runs: its pid means something only to processes of the
 * same host and pid namespace (two containers on one volume are both pid 1).
 */
function lockPlace(): string {
  let namespace = "";
  try {
    namespace = readlinkSync("/proc/self/ns/pid");
  } catch {
    // Not Linux: the host name alone.
  }
  return `${hostname()}/${namespace}`;
}

/** The lock of a data dir, held by this process. */
interface Lock {
  /**
   * Why this process may no longer write the dir — another took the lock
   * over — or undefined while it may. Reads the lock file at most once every
   * `LOCK_REFRESH_MS`: a takeover needs `LOCK_STALE_MS` of silence first, so a
   * process frozen long enough to lose its lock always reads it again.
   */
  refusal(): Error | undefined;
  /** Stops touching it (the file stays). */
  release(): void;
}

/**
 * Refuses a dir another live process uses. The lock is a pid, not a held
 * file lock (Node has none): a process killed with -9 leaves it behind. One
 * of the same place is taken over once that pid is gone; one of another place
 * (another container or host), whose pid cannot be asked, once it has not been
 * touched for `LOCK_STALE_MS` — its holder touches it every `LOCK_REFRESH_MS`.
 * A holder frozen that long (SIGSTOP, `docker pause`, a stalled VM) finds the
 * lock another's when it wakes: it writes nothing more (see `Lock.refusal`).
 */
function takeLock(path: string, onLost: (holder: string, error: Error) => void): Lock {
  const file = join(path, LOCK_FILE);
  const place = lockPlace();
  const mine = `${process.pid} ${place}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // Made only if there is none: of two processes starting at once, one makes it.
      const fd = openSync(file, "wx");
      try {
        writeSync(fd, mine);
      } finally {
        closeSync(fd);
      }
      return heldLock(file, path, mine, onLost);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let holder: string;
    try {
      holder = readFileSync(file, "utf8");
    } catch {
      continue; // let go of meanwhile
    }
    const [pidText = "", ...rest] = holder.trim().split(" ");
    const pid = Number(pidText);
    const holderPlace = rest.join(" ");
    if (holderPlace === "" || holderPlace === place) {
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new Error(`data dir ${path} is in use by process ${pid}`);
      }
    } else {
      waitForAbandonedLock(file, path, pid, holderPlace);
    }
    // Abandoned: moved aside (only one of several takers can), then made anew above.
    const aside = `${file}.${process.pid}.abandoned`;
    try {
      renameSync(file, aside);
    } catch {
      continue;
    }
    const moved = readFileSync(aside, "utf8");
    rmSync(aside, { force: true });
    if (moved !== holder)
      throw new Error(`data dir ${path} was taken by another process meanwhile`);
  }
  throw new Error(`data dir ${path}: its lock could not be taken`);
}

/**
 * A lock this process made: touched every `LOCK_REFRESH_MS` while it is
 * still this process's, so that others see it held.
 */
function heldLock(
  file: string,
  path: string,
  mine: string,
  onLost: (holder: string, error: Error) => void,
): Lock {
  let checkedAt = Date.now();
  let lost: Error | undefined;
  const check = (always: boolean): Error | undefined => {
    if (lost !== undefined || (!always && Date.now() - checkedAt < LOCK_REFRESH_MS)) return lost;
    let holder: string;
    try {
      holder = readFileSync(file, "utf8");
    } catch (error) {
      // Unreadable for now (an I/O error): the next check tries again. Gone: taken away.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") return undefined;
      holder = "(no one: the lock file is gone)";
    }
    if (holder === mine) {
      checkedAt = Date.now();
      return undefined;
    }
    // Another gateway's pid and place, normally; bounded, as it goes to the log.
    holder = holder.trim().slice(0, 200);
    // The code is what readiness and the log name (`writes to the data dir fail (…)`).
    lost = Object.assign(
      new Error(
        `data dir ${path}: its lock was taken over by ${holder} while this process was frozen; writes are refused`,
      ),
      { code: "its lock was taken over" },
    );
    clearInterval(refresher);
    onLost(holder, lost);
    return lost;
  };
  const refresher = setInterval(() => {
    if (check(true) !== undefined) return;
    try {
      const now = new Date();
      utimesSync(file, now, now);
    } catch {
      // Unwritable for now: the next touch tries again.
    }
  }, LOCK_REFRESH_MS);
  refresher.unref();
  return { refusal: () => check(false), release: () => clearInterval(refresher) };
}

/** Waits until a lock of another place has gone untouched for `LOCK_STALE_MS`; throws once it is touched. */
function waitForAbandonedLock(file: string, path: string, pid: number, place: string): void {
  const first = statSync(file).mtimeMs;
  // The start is synchronous (nothing else runs yet): it sleeps in short steps.
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() - first < LOCK_STALE_MS) {
    Atomics.wait(sleeper, 0, 0, LOCK_REFRESH_MS / 4);
    const last = statSync(file).mtimeMs;
    if (last !== first) {
      throw new Error(
        `data dir ${path} is in use by process ${pid} of ${place}: its lock is touched every ` +
          `${LOCK_REFRESH_MS} ms (one untouched for ${LOCK_STALE_MS} ms is taken over)`,
      );
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
