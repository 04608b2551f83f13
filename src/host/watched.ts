// berthd's memo of what it read from files that change only by write(2), rename(2) or unlink(2)
// (configs, state records, cgroup limit files): a value stays while inotify has said nothing
// about any of its files. A listing of 100 containers then reads only what the kernel changes
// by itself (a process's stat, cgroup.procs, freezer.state), not some 1,000 files.
//
// Only files whose every change is a system call may be given here: inotify never hears what the
// kernel changes on its own (memory.usage_in_bytes, pids.current, /proc). The CLI has no memo:
// a command reads each file once anyway.
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/** watched directories at most; past it, reads go to the files (inotify's watches are a host-wide budget) */
const MAX_DIRS = 4096;

interface Entry {
  value: unknown;
  files: string[];
}

export class WatchedReads {
  private values = new Map<string, Entry>();
  /** directory -> its watcher and the keys whose files are in it */
  private dirs = new Map<string, { watcher: FSWatcher; keys: Set<string> }>();

  /**
   * LOAD's value, kept under KEY until a file of FILES changes ("DIR/": anything in DIR). The watches go first: a change
   * made while LOAD reads is heard, and drops what LOAD returned.
   */
  get<T>(key: string, files: readonly string[], load: () => T): T {
    const hit = this.values.get(key);
    if (hit && sameFiles(hit.files, files)) return hit.value as T;
    if (hit) this.drop(key);
    const dirs = files.map(dirOf);
    if (!dirs.every((d) => this.watchDir(d))) return load();
    const entry: Entry = { value: undefined, files: [...files] };
    this.values.set(key, entry);
    for (const d of dirs) this.dirs.get(d)?.keys.add(key);
    entry.value = load();
    // dropped while loading (a change was heard): the value may be from before it, keep nothing
    if (this.values.get(key) !== entry) this.values.delete(key);
    return entry.value as T;
  }

  /**
   * Lets inotify's events that are already queued reach the watchers: a request that a client
   * sent after a change (a CLI command that has returned) must not see what was before it.
   */
  settle(): Promise<void> {
    return new Promise((r) => setImmediate(r));
  }

  close(): void {
    for (const { watcher } of this.dirs.values()) watcher.close();
    this.dirs.clear();
    this.values.clear();
  }

  private watchDir(dir: string): boolean {
    if (this.dirs.has(dir)) return true;
    if (this.dirs.size >= MAX_DIRS) return false;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => this.changed(dir, name ? String(name) : null));
    } catch {
      return false; // gone, or no watches left: read through
    }
    watcher.on('error', () => this.forget(dir));
    this.dirs.set(dir, { watcher, keys: new Set() });
    return true;
  }

  private changed(dir: string, name: string | null): void {
    const d = this.dirs.get(dir);
    if (!d) return;
    // the directory itself went (a stopped container's cgroup) or the event names nothing
    if (name === null || name === basename(dir)) {
      this.forget(dir);
      return;
    }
    const file = `${dir}/${name}`;
    const listing = `${dir}/`;
    for (const key of d.keys) {
      const files = this.values.get(key)?.files;
      if (files?.includes(file) || files?.includes(listing)) this.drop(key);
    }
  }

  private drop(key: string): void {
    const e = this.values.get(key);
    if (!e) return;
    this.values.delete(key);
    for (const f of e.files) this.dirs.get(dirOf(f))?.keys.delete(key);
  }

  /** a directory no longer watched: every value that read a file of it goes */
  private forget(dir: string): void {
    const d = this.dirs.get(dir);
    if (!d) return;
    this.dirs.delete(dir);
    d.watcher.close();
    for (const key of d.keys) this.drop(key);
  }
}

/** a file's directory; "DIR/" stands for DIR's entries, which any event in DIR changes */
const dirOf = (f: string) => (f.endsWith('/') ? f.slice(0, -1) : dirname(f));

const sameFiles = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((f, i) => f === b[i]);
