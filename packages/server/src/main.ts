import { ConfigError, loadConfig } from './config.js';
import { createServer } from './server.js';

// The command-line entry point: the only module that reads process.env.
let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}

const server = await createServer(config);
await server.start();

let signals = 0;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    // A second signal skips the drain.
    if (++signals > 1) process.exit(1);
    server.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
