import type { ChildProcess } from 'node:child_process';

/**
 * Ends a child process the bench started: asked politely (the IPC message `exit`, when given and the child is
 * still connected, else SIGTERM), then SIGKILL after 5 s; resolves once it is gone. Every load loop and core the
 * bench starts is stopped this way, so that none outlives its run.
 */
export function stopChild(child: ChildProcess, exit?: object): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    if (exit && child.connected) child.send(exit);
    else child.kill('SIGTERM');
  });
}
