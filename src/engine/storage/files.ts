/** The few file operations durability rests on. */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** Makes a directory's entries (a new or renamed file in it) durable. */
export function syncDirectory(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Write, fsync, rename, fsync the directory: whoever reads `file` finds the
 * old content or the new, never a torn one. Without `fsync`, a crash of the
 * machine (not of the process) may still find the old.
 */
export function writeAtomically(file: string, content: string, fsync: boolean): void {
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, content);
  if (fsync) {
    const fd = openSync(temporary, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  renameSync(temporary, file);
  if (fsync) syncDirectory(dirname(file));
}

/** A JSON file the data dir wrote; one that does not parse is named in the error, not left to a bare SyntaxError. */
export function readJsonFile(file: string): unknown {
  const content = readFileSync(file, "utf8");
  try {
    return JSON.parse(content);
  } catch (error) {
    throw new Error(
      `${file} is damaged (${(error as Error).message}); the data dir cannot be opened`,
    );
  }
}
