import { Command } from 'commander';
import { registerSipCommands } from './cli/sip.js';
import { registerAkaCommands } from './cli/aka.js';
import { registerHssCommands } from './cli/hss.js';
import { registerRunCommands } from './cli/run.js';
import { registerBenchCommands } from './cli/bench.js';
import { registerNodeCommands } from './cli/node.js';
import { registerControlCommands } from './cli/control.js';
import { registerFuzzCommands } from './cli/fuzz.js';

const program = new Command('imslab')
  .description('An IMS core network on one laptop: real SIP, Diameter Cx and RTP over loopback')
  .showHelpAfterError();

registerRunCommands(program);
registerSipCommands(program);
registerAkaCommands(program);
registerHssCommands(program);
registerBenchCommands(program);
registerNodeCommands(program);
registerControlCommands(program);
registerFuzzCommands(program);

await program.parseAsync(process.argv);
