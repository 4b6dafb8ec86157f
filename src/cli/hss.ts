import type { Command } from 'commander';

export function registerHssCommands(program: Command): void {
  void program;
}
