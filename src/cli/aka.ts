import type { Command } from 'commander';

export function registerAkaCommands(program: Command): void {
  void program;
}
