#!/usr/bin/env node
// Entry point of the `sovereign` command. Sovereign runs its TypeScript sources directly on
// Node 24 (type stripping); older Node versions are told how to get the pinned one.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `sovereign: Node ${process.versions.node} is too old; Sovereign needs Node 24.\n` +
      `Run it through npm, which uses the Node 24 pinned in package.json:  npm run sovereign -- <command>`,
  );
  process.exit(1);
}
await import('../src/cli/main.ts');
