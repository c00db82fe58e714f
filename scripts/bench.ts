// `npm run bench`: medians from one run, printed as a table. Speed lives here, never in tests.
import { runDbBench } from './bench-db.ts';

const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);
const rows: [string, string][] = [];

if (want('db')) {
  const db = await runDbBench();
  rows.push(['db: acked comment inserts/s, one per transaction (median)', db.singlePerSecond.toFixed(0)]);
  rows.push([`db: acked comment inserts/s, batches of ${db.batchSize} (median)`, db.batchedPerSecond.toFixed(0)]);
  rows.push(['db: batch / single ratio', (db.batchedPerSecond / db.singlePerSecond).toFixed(1)]);
}
if (want('chat')) {
  const { runChatBench } = await import('./bench-chat.ts');
  const chat = await runChatBench();
  for (const [k, v] of Object.entries(chat)) rows.push([`chat: ${k}`, typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v)]);
}
if (want('slow')) {
  const { runSlowConsumerBench } = await import('./bench-slow-consumer.ts');
  const slow = await runSlowConsumerBench();
  for (const [k, v] of Object.entries(slow)) rows.push([`slow consumer: ${k}`, typeof v === 'number' ? v.toFixed(0) : String(v)]);
}
if (want('media')) {
  const { runMediaBench } = await import('./bench-media.ts');
  const media = await runMediaBench();
  for (const [k, v] of Object.entries(media)) rows.push([`media: ${k}`, typeof v === 'number' ? v.toFixed(0) : String(v)]);
}
if (want('restart')) {
  const { runRestartBench } = await import('./bench-restart.ts');
  const restart = await runRestartBench();
  for (const [k, v] of Object.entries(restart)) rows.push([`restart: ${k}`, v.toFixed(0)]);
}

const width = Math.max(...rows.map(([k]) => k.length));
console.log('\nRED-RED Live benchmarks (medians of one run)\n');
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
