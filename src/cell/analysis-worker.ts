// A worker thread of the embedded runtime: loads the model from the cell's store once, then
// analyses the texts of one request per message. CPU-bound work lives here so that the cell's
// main thread keeps answering health probes and other requests.
import { parentPort, workerData } from 'node:worker_threads';
import { requireFromStore, type StoredModel } from './model-store.ts';
import { analyze, loadNlp, type WinkModel } from './analysis.ts';

const nlp = loadNlp(requireFromStore<WinkModel>(workerData as StoredModel));

parentPort?.on('message', (msg: { id: number; texts: string[] }) => {
  try {
    parentPort?.postMessage({ id: msg.id, results: msg.texts.map((t) => analyze(nlp, t)) });
  } catch (err) {
    parentPort?.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
