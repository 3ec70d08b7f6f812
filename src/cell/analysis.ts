// The embedded model's one operation: read a text and report its sentiment and named entities
// (wink-nlp over wink-eng-lite-web-model). Runs inside an analysis worker, never on the thread
// that answers HTTP.
import winkNLP from 'wink-nlp';

export interface Analysis {
  sentiment: number;
  entities: { value: string; type: string }[];
  tokens: number;
  sentences: number;
}

export type Nlp = ReturnType<typeof winkNLP>;
export type WinkModel = Parameters<typeof winkNLP>[0];

export function loadNlp(model: WinkModel): Nlp {
  return winkNLP(model);
}

export function analyze(nlp: Nlp, text: string): Analysis {
  const its = nlp.its;
  const doc = nlp.readDoc(text);
  // eslint-disable-next-line @typescript-eslint/unbound-method -- wink-nlp's its.* are plain helper functions, not methods
  const entities = (doc.entities().out(its.detail) as unknown as { value: string; type: string }[]).map((e) => ({ value: e.value, type: e.type }));
  // eslint-disable-next-line @typescript-eslint/unbound-method -- as above
  return { sentiment: doc.out(its.sentiment) as unknown as number, entities, tokens: doc.tokens().length(), sentences: doc.sentences().length() };
}
