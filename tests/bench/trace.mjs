// Reading Chromium traces of the page (`browser.startTracing` with TRACE_CATEGORIES):
// where its main thread spends its time, and what its long tasks are made of.

/** What the benches record. */
export const TRACE_CATEGORIES = ['devtools.timeline', 'blink', 'v8', 'toplevel', 'disabled-by-default-devtools.timeline'];

/** The complete events ('X') on the renderer main thread that ran the page's script. */
function mainThreadEvents(trace) {
  const events = trace.traceEvents ?? trace;
  const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain'
    && events.some((x) => x.pid === e.pid && x.tid === e.tid && x.name === 'FunctionCall'));
  return events.filter((e) => main && e.pid === main.pid && e.tid === main.tid && e.ph === 'X' && e.dur);
}

/**
 * Where the page's main thread spent its time, from a Chromium trace: the complete events
 * directly under each task on the renderer's main thread, summed by name (top 25).
 */
export function printTrace(trace) {
  const onMain = mainThreadEvents(trace);
  // Self time: each event's duration minus that of the events nested directly in it.
  onMain.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const self = new Map();
  const stack = [];
  for (const e of onMain) {
    while (stack.length && stack.at(-1).ts + stack.at(-1).dur <= e.ts) stack.pop();
    const parent = stack.at(-1);
    if (parent) self.set(parent, (self.get(parent) ?? parent.dur) - e.dur);
    self.set(e, e.dur);
    stack.push(e);
  }
  const byName = new Map();
  for (const [e, us] of self) byName.set(e.name, (byName.get(e.name) ?? 0) + us);
  const total = [...byName.values()].reduce((a, b) => a + b, 0);
  console.log(`trace: main thread busy ${(total / 1000).toFixed(0)} ms (self time by event)`);
  for (const [name, us] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  }
}

/**
 * The main thread's tasks longer than 50 ms, each as its wall time and the CPU time the
 * thread spent in it (`tdur`): a long task of little CPU is the thread waiting for a
 * core, not work of the page's.
 */
export function longTasks(trace) {
  const long = mainThreadEvents(trace)
    .filter((e) => /RunTask$/.test(e.name) && e.dur > 50_000)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  // A task's scheduler wrappers nest: keep the outermost.
  const outer = long.filter((e, i) => !long.slice(0, i).some((o) => o.ts + o.dur >= e.ts + e.dur));
  return outer.map((e) => ({ wallMs: e.dur / 1000, cpuMs: (e.tdur ?? e.dur) / 1000 }));
}
