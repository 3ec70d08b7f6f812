// A separate client process (another user) that sends three concurrent request bodies of the
// given size to a URL, then again 250 ms after they are answered, until killed; prints the
// status and error code of each answer.
import { request } from 'undici';

const [url, sizeArg, jurisdiction] = process.argv.slice(2);
const size = Number(sizeArg);
const text = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(size / 27)).slice(0, size);
const body = Buffer.from(JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: text }] }));

async function one(): Promise<void> {
  const res = await request(url as string, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': jurisdiction ?? 'DE' }, body });
  const b = (await res.body.json()) as { error?: { code?: string } };
  process.stdout.write(`${res.statusCode} ${b.error?.code ?? ''}\n`);
}

for (;;) {
  await Promise.all([one(), one(), one()]);
  await new Promise((r) => setTimeout(r, 250));
}
