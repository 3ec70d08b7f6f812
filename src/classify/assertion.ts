// Assertion context of special-category mentions, as clinical NLP marks it (NegEx, Chapman et
// al. 2001; ConText, Harkema et al. 2009): a trigger word shortly before the mention, in the same
// sentence, makes it negated ("denies chest pain", "keine Allergien") or hypothetical ("if the
// biopsy is positive", "risk of diabetes"). The context is reported; it never lowers the class:
// a negated or hypothetical health statement is still health data about the subject.

export type AssertionContext = 'negated' | 'hypothetical';

/** How far before a mention a trigger may stand (NegEx uses five words; 48 characters is about that). */
const SCOPE = 48;

const NEGATION = new Set(
  `no not never denies denied deny without negative free absence absent ruled unremarkable nor
  kein keine keinen keiner nicht ohne verneint ausgeschlossen
  pas sans aucun aucune jamais nie
  sin niega nunca ningun ninguna descarta descartado
  tiada tidak tanpa bukan
  لا ليس ليست بدون لم ينفي
  没有 无 否认 未 不`.split(/\s+/),
);

const HYPOTHETICAL = new Set(
  `if whether could might may would should risk possible possibly suspected suspect rule unless
  wenn falls ob konnte könnte verdacht moglich möglich
  si pourrait risque eventuel éventuel suspicion
  podria podría riesgo posible sospecha
  jika kalau sekiranya mungkin risiko
  إذا لو قد ربما احتمال خطر
  如果 假如 可能 风险 疑似`.split(/\s+/),
);

/** Sentence boundaries stop the scope: . ! ? ; and their CJK and Arabic forms, and line breaks. */
function isBoundary(c: number): boolean {
  return c === 46 || c === 33 || c === 63 || c === 59 || c === 10 || c === 0x3002 || c === 0xff01 || c === 0xff1f || c === 0x061f || c === 0x061b;
}

/**
 * The context of the mention starting at `start` in `text` (the text as sent), or undefined when
 * it is asserted. Reads at most SCOPE characters.
 */
export function assertionContext(text: string, start: number): AssertionContext | undefined {
  let a = start;
  while (a > 0 && start - a < SCOPE && !isBoundary(text.charCodeAt(a - 1))) a--;
  const window = text.slice(a, start).toLowerCase();
  let negated = false;
  let hypothetical = false;
  // words, and for scripts without spaces every one- and two-character sequence
  for (const w of window.split(/[^\p{L}\p{N}']+/u)) {
    if (w.length === 0) continue;
    if (NEGATION.has(w)) negated = true;
    else if (HYPOTHETICAL.has(w)) hypothetical = true;
    else if (/[\u4e00-\u9fff]/.test(w)) {
      for (let k = 0; k < w.length; k++) {
        const one = w.slice(k, k + 1);
        const two = w.slice(k, k + 2);
        if (NEGATION.has(one) || NEGATION.has(two)) negated = true;
        if (HYPOTHETICAL.has(two)) hypothetical = true;
      }
    }
  }
  if (negated) return 'negated';
  if (hypothetical) return 'hypothetical';
  return undefined;
}
