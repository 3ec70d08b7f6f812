// `sovereign tenant hash-key`: the value for tenants[].apiKeySha256, read from stdin so the
// key never lands in shell history.
import type { Command } from 'commander';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function register(program: Command): void {
  const tenant = program.command('tenant').description('tenant helpers');
  tenant
    .command('hash-key')
    .description('read an API key on stdin and print its SHA-256 for tenants[].apiKeySha256')
    .action(async () => {
      const key = (await readStdin()).trim();
      if (key === '') {
        console.error('sovereign tenant hash-key: no key on stdin; try: echo -n "$KEY" | sovereign tenant hash-key');
        process.exitCode = 2;
        return;
      }
      const { hashApiKey } = await import('../gateway/auth.ts');
      console.log(hashApiKey(key));
    });
}
