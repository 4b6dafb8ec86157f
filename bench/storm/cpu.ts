import { readFileSync } from 'node:fs';

/** CPU time (user + system, ms) of this process (unless `self` is false) and of the given children, from /proc where there is one. */
export function cpuMsOf(children: readonly number[], self = true): number {
  const own = process.cpuUsage();
  let ms = self ? (own.user + own.system) / 1000 : 0;
  for (const pid of children) {
    try {
      // proc(5): fields 14 and 15 are utime and stime in clock ticks (USER_HZ, 100 on Linux); the name in
      // parentheses may hold spaces, so fields are counted after its closing parenthesis.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ms += (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      // No /proc (not Linux) or the child is gone: its share is not counted.
    }
  }
  return ms;
}
