// Where a benchmark's CPU time goes, by kind of process (Linux /proc).
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds used so far by each kind of process on this machine (Linux /proc): the
 * page's renderer, Chromium's network service and the rest of it, storage (Garage) and
 * partway-server. Where an uploader's time goes on a 2-core machine; {} elsewhere.
 */
export function cpuSeconds() {
  const kinds = {};
  let pids = [];
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return kinds; }
  for (const pid of pids) {
    let cmd;
    let stat;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch { continue; }
    const kind = /partway-server/.test(cmd) ? 'server'
      : /chrom.*--type=renderer/.test(cmd) ? 'renderer'
        : /chrom.*--type=utility.*[Nn]etwork/.test(cmd) ? 'network'
          : /chrom/.test(cmd) ? 'chromium, other'
            : /garage/.test(cmd) ? 'storage' : null;
    if (!kind) continue;
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    kinds[kind] = (kinds[kind] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return kinds;
}

/** The CPU seconds each kind of process used between two `cpuSeconds()` readings. */
export function cpuSince(before) {
  const after = cpuSeconds();
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]));
}
