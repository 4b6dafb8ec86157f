import type { Command } from 'commander';

export function registerSipCommands(program: Command): void {
  void program;
}
