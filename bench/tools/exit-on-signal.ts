// Preloaded (`node --import`) into servers that have no signal handler of their own, so that
// SIGINT/SIGTERM end them through process.exit and `--cpu-prof` gets to write its profile.
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(0));
